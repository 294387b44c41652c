ALTER TABLE `dag_versions` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `dag_versions` ADD `disabled_by` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `cancelled_by` text;