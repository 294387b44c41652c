CREATE TABLE `nodes` (
	`node_id` text PRIMARY KEY NOT NULL,
	`started_ms` integer NOT NULL,
	`heartbeat_ms` integer NOT NULL,
	`lease_until_ms` integer NOT NULL,
	`capacity` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_owners` (
	`run_id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`node_id` text,
	`epoch` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `run_owners_node` ON `run_owners` (`node_id`,`run_id`);