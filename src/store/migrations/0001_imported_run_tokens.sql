DROP INDEX `runs_token`;--> statement-breakpoint
CREATE UNIQUE INDEX `runs_token` ON `runs` (`tenant`,`run_token`) WHERE "runs"."imported" = 0;