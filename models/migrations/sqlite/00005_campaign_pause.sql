-- A marketer may pause a whole campaign (no enrolments, sends wait) with
-- a reason the console shows. SQLite adds the columns by rebuilding the
-- table, so its definition reads as the models make it.

-- +goose Up
CREATE TABLE `campaigns_before_pause` AS SELECT * FROM `campaigns`;
DROP TABLE `campaigns`;
CREATE TABLE `campaigns` (`id` text,`name` text NOT NULL,`kind` text NOT NULL,`trigger_event` text NOT NULL,`definition` blob NOT NULL,`status` text NOT NULL DEFAULT "draft",`latest_version` integer NOT NULL DEFAULT 0,`paused_at` datetime,`paused_reason` text,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
INSERT INTO `campaigns` (`id`,`name`,`kind`,`trigger_event`,`definition`,`status`,`latest_version`,`created_at`,`updated_at`) SELECT `id`,`name`,`kind`,`trigger_event`,`definition`,`status`,`latest_version`,`created_at`,`updated_at` FROM `campaigns_before_pause`;
DROP TABLE `campaigns_before_pause`;
CREATE INDEX `idx_campaigns_trigger_event` ON `campaigns`(`trigger_event`);

-- +goose Down
ALTER TABLE `campaigns` DROP COLUMN `paused_reason`;
ALTER TABLE `campaigns` DROP COLUMN `paused_at`;
