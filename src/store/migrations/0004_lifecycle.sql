CREATE TABLE `artifact_refs` (
	`tenant` text NOT NULL,
	`hash` text NOT NULL,
	`holder` text NOT NULL,
	PRIMARY KEY(`tenant`, `hash`, `holder`)
);
--> statement-breakpoint
CREATE INDEX `artifact_refs_holder` ON `artifact_refs` (`holder`);--> statement-breakpoint
CREATE TABLE `event_checkpoints` (
	`tenant` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`pruned_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `retention_policies` (
	`tenant` text PRIMARY KEY NOT NULL,
	`max_age_days` integer,
	`keep_last` integer,
	`updated_ms` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `idempotency_keys` ADD `run_id` text;--> statement-breakpoint
CREATE INDEX `idempotency_run` ON `idempotency_keys` (`run_id`);--> statement-breakpoint
CREATE INDEX `artifacts_hash` ON `artifacts` (`hash`);--> statement-breakpoint
-- Backfill (hand-written): references of what was stored before they were recorded. Logs are
-- named by their steps and attempts; any other artifact of an older folder has no known writer
-- and is pinned ('legacy'), so garbage collection never drops what an older version kept.
INSERT OR IGNORE INTO `artifact_refs` (`tenant`, `hash`, `holder`)
  SELECT a.`tenant`, a.`hash`, s.`run_id` FROM `steps` s
    JOIN `runs` r ON r.`run_id` = s.`run_id`
    JOIN `artifacts` a ON a.`tenant` = r.`tenant` AND a.`hash` = s.`logs_ref`;--> statement-breakpoint
INSERT OR IGNORE INTO `artifact_refs` (`tenant`, `hash`, `holder`)
  SELECT a.`tenant`, a.`hash`, t.`run_id` FROM `attempts` t
    JOIN `runs` r ON r.`run_id` = t.`run_id`
    JOIN `artifacts` a ON a.`tenant` = r.`tenant` AND a.`hash` = t.`logs_ref`;--> statement-breakpoint
INSERT OR IGNORE INTO `artifact_refs` (`tenant`, `hash`, `holder`)
  SELECT a.`tenant`, a.`hash`, 'legacy' FROM `artifacts` a
    WHERE NOT EXISTS (SELECT 1 FROM `artifact_refs` f WHERE f.`tenant` = a.`tenant` AND f.`hash` = a.`hash`);--> statement-breakpoint
UPDATE `idempotency_keys` SET `run_id` = json_extract(`response_body`, '$.runId')
  WHERE `response_body` IS NOT NULL AND json_valid(`response_body`) AND json_type(`response_body`, '$.runId') = 'text';
