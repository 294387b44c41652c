CREATE TABLE `schedules` (
	`tenant` text NOT NULL,
	`schedule_id` text NOT NULL,
	`dag_id` text NOT NULL,
	`spec` text NOT NULL,
	`spec_hash` text NOT NULL,
	`signature` text,
	`signed_by` text DEFAULT '[]' NOT NULL,
	`paused` integer DEFAULT 0 NOT NULL,
	`created_ms` integer NOT NULL,
	`updated_ms` integer NOT NULL,
	`next_fire_ms` integer,
	`buffered_fire_ms` integer,
	`last_fire_ms` integer,
	`last_fire_status` text,
	`last_fire_run_id` text,
	`last_fire_error` text,
	`missed_count` integer DEFAULT 0 NOT NULL,
	`missed_last_ms` integer,
	PRIMARY KEY(`tenant`, `schedule_id`)
);
--> statement-breakpoint
CREATE INDEX `schedules_dag` ON `schedules` (`tenant`,`dag_id`,`schedule_id`);--> statement-breakpoint
ALTER TABLE `events` ADD `schedule_id` text;--> statement-breakpoint
ALTER TABLE `events` ADD `scheduled_ms` integer;--> statement-breakpoint
ALTER TABLE `events` ADD `detail` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `schedule_id` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `scheduled_ms` integer;--> statement-breakpoint
CREATE INDEX `runs_schedule_order` ON `runs` (`tenant`,`schedule_id`,`started_ms`,`run_id`);--> statement-breakpoint
CREATE INDEX `runs_schedule_active` ON `runs` (`tenant`,`schedule_id`) WHERE "runs"."schedule_id" is not null and "runs"."status" in ('queued', 'running', 'cancelling') and "runs"."imported" = 0;