DROP INDEX `runs_order`;--> statement-breakpoint
DROP INDEX `runs_schedule_order`;--> statement-breakpoint
CREATE INDEX `runs_list` ON `runs` (`tenant`,"started_ms" desc,`run_id`);--> statement-breakpoint
CREATE INDEX `runs_dag_list` ON `runs` (`tenant`,`dag_id`,"started_ms" desc,`run_id`);--> statement-breakpoint
CREATE INDEX `runs_schedule_list` ON `runs` (`tenant`,`schedule_id`,"started_ms" desc,`run_id`);