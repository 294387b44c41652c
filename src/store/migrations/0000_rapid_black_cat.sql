CREATE TABLE `artifacts` (
	`tenant` text NOT NULL,
	`hash` text NOT NULL,
	`size` integer NOT NULL,
	`media_type` text NOT NULL,
	`created_ms` integer NOT NULL,
	PRIMARY KEY(`tenant`, `hash`)
);
--> statement-breakpoint
CREATE TABLE `attempts` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`started_ms` integer NOT NULL,
	`ended_ms` integer,
	`error_code` text,
	`error_message` text,
	`logs_ref` text,
	`outputs_hash` text,
	PRIMARY KEY(`run_id`, `step_id`, `attempt`)
);
--> statement-breakpoint
CREATE TABLE `dag_versions` (
	`tenant` text NOT NULL,
	`dag_id` text NOT NULL,
	`version` text NOT NULL,
	`version_key` text NOT NULL,
	`hash` text NOT NULL,
	`definition` text NOT NULL,
	`signature` text,
	`signed_by` text DEFAULT '[]' NOT NULL,
	`active` integer DEFAULT 1 NOT NULL,
	`created_ms` integer NOT NULL,
	`disabled_ms` integer,
	PRIMARY KEY(`tenant`, `dag_id`, `version`)
);
--> statement-breakpoint
CREATE INDEX `dag_versions_order` ON `dag_versions` (`tenant`,`dag_id`,`version_key`);--> statement-breakpoint
CREATE TABLE `events` (
	`tenant` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`dag_id` text NOT NULL,
	`run_id` text NOT NULL,
	`step_id` text,
	`status` text NOT NULL,
	`ts_ms` integer NOT NULL,
	`trace_id` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`tenant`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`tenant` text NOT NULL,
	`method` text NOT NULL,
	`path` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`state` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`response_headers` text,
	`created_ms` integer NOT NULL,
	PRIMARY KEY(`tenant`, `method`, `path`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_created` ON `idempotency_keys` (`created_ms`);--> statement-breakpoint
CREATE TABLE `runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`dag_id` text NOT NULL,
	`dag_version` text NOT NULL,
	`dag_hash` text NOT NULL,
	`run_token` text,
	`trace_id` text NOT NULL,
	`status` text NOT NULL,
	`inputs` text NOT NULL,
	`inputs_hash` text NOT NULL,
	`outputs_hash` text,
	`created_ms` integer NOT NULL,
	`started_ms` integer NOT NULL,
	`ended_ms` integer,
	`cancel_reason` text,
	`imported` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `runs_order` ON `runs` (`tenant`,`started_ms`,`run_id`);--> statement-breakpoint
CREATE INDEX `runs_dag_order` ON `runs` (`tenant`,`dag_id`,`started_ms`,`run_id`);--> statement-breakpoint
CREATE INDEX `runs_status` ON `runs` (`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `runs_token` ON `runs` (`tenant`,`run_token`);--> statement-breakpoint
CREATE TABLE `steps` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`topo_index` integer NOT NULL,
	`status` text NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`started_ms` integer,
	`ended_ms` integer,
	`inputs_hash` text,
	`outputs_hash` text,
	`outputs` text,
	`logs_ref` text,
	`error_code` text,
	`error_message` text,
	`retryable` integer,
	`next_attempt_ms` integer,
	PRIMARY KEY(`run_id`, `step_id`)
);
--> statement-breakpoint
CREATE INDEX `steps_order` ON `steps` (`run_id`,`topo_index`);