ALTER TABLE `schedules` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `schedules` ADD `updated_by` text;