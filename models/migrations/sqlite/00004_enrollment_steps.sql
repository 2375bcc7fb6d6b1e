-- An ended sequence keeps each step's final state and reason, and the
-- winner a promotion moved it to, on its enrollment: the journey answers
-- "why didn't they get email N?" once the workflow has gone. SQLite adds
-- the columns by rebuilding the table, so its definition reads as the
-- models make it.

-- +goose Up
CREATE TABLE `enrollments_before_steps` AS SELECT * FROM `enrollments`;
DROP TABLE `enrollments`;
CREATE TABLE `enrollments` (`id` text,`customer_id` text NOT NULL,`campaign_id` text NOT NULL,`version` integer NOT NULL,`workflow_id` text NOT NULL,`variant` text NOT NULL,`trigger_event_id` text,`entry_key` text,`status` text NOT NULL,`exit_reason` text,`current_step` text,`emails_sent` integer NOT NULL DEFAULT 0,`converted_order` text,`revenue_minor` integer NOT NULL DEFAULT 0,`enrolled_at` datetime,`ended_at` datetime,`paused_at` datetime,`promoted_to` text,`steps` text,`updated_at` datetime,PRIMARY KEY (`id`));
INSERT INTO `enrollments` (`id`,`customer_id`,`campaign_id`,`version`,`workflow_id`,`variant`,`trigger_event_id`,`entry_key`,`status`,`exit_reason`,`current_step`,`emails_sent`,`converted_order`,`revenue_minor`,`enrolled_at`,`ended_at`,`paused_at`,`updated_at`) SELECT `id`,`customer_id`,`campaign_id`,`version`,`workflow_id`,`variant`,`trigger_event_id`,`entry_key`,`status`,`exit_reason`,`current_step`,`emails_sent`,`converted_order`,`revenue_minor`,`enrolled_at`,`ended_at`,`paused_at`,`updated_at` FROM `enrollments_before_steps`;
DROP TABLE `enrollments_before_steps`;
CREATE INDEX `idx_enrollment_campaign` ON `enrollments`(`campaign_id`,`enrolled_at`);
CREATE INDEX `idx_enrollment_customer` ON `enrollments`(`customer_id`,`campaign_id`);
CREATE INDEX `idx_enrollments_status` ON `enrollments`(`status`);
CREATE INDEX `idx_enrollments_workflow_id` ON `enrollments`(`workflow_id`);
CREATE UNIQUE INDEX idx_one_running_enrollment
		ON enrollments (customer_id, campaign_id) WHERE status = 'running';

-- +goose Down
ALTER TABLE `enrollments` DROP COLUMN `steps`;
ALTER TABLE `enrollments` DROP COLUMN `promoted_to`;
