-- SMS as a channel of its own: a customer's mobile number and their SMS
-- consent (a record of its own, never inferred from email consent), the
-- channel a consent record is about, and the channel a message goes by.
-- SQLite adds the columns by rebuilding the tables, so their definitions
-- read as the models make them.

-- +goose Up
CREATE TABLE `customers_before_sms` AS SELECT * FROM `customers`;
DROP TABLE `customers`;
CREATE TABLE `customers` (`id` text,`email` text NOT NULL,`name` text,`timezone` text NOT NULL DEFAULT "UTC",`locale` text NOT NULL DEFAULT "en",`consent` numeric NOT NULL DEFAULT false,`consent_basis` text,`consent_at` datetime,`consent_source` text,`country` text,`tier` text,`phone` text,`sms_consent` numeric NOT NULL DEFAULT false,`sms_consent_at` datetime,`sms_consent_source` text,`upsells_paused_until` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
INSERT INTO `customers` (`id`,`email`,`name`,`timezone`,`locale`,`consent`,`consent_basis`,`consent_at`,`consent_source`,`country`,`tier`,`upsells_paused_until`,`created_at`,`updated_at`)
  SELECT `id`,`email`,`name`,`timezone`,`locale`,`consent`,`consent_basis`,`consent_at`,`consent_source`,`country`,`tier`,`upsells_paused_until`,`created_at`,`updated_at` FROM `customers_before_sms`;
DROP TABLE `customers_before_sms`;

CREATE TABLE `consent_records_before_sms` AS SELECT * FROM `consent_records`;
DROP TABLE `consent_records`;
CREATE TABLE `consent_records` (`id` integer PRIMARY KEY AUTOINCREMENT,`customer_id` text NOT NULL,`channel` text NOT NULL DEFAULT "email",`granted` numeric NOT NULL,`basis` text,`source` text,`wording_version` text,`ip` text,`user_agent` text,`at` datetime);
INSERT INTO `consent_records` (`id`,`customer_id`,`granted`,`basis`,`source`,`wording_version`,`ip`,`user_agent`,`at`)
  SELECT `id`,`customer_id`,`granted`,`basis`,`source`,`wording_version`,`ip`,`user_agent`,`at` FROM `consent_records_before_sms`;
DROP TABLE `consent_records_before_sms`;
CREATE INDEX `idx_consent_records_customer_id` ON `consent_records`(`customer_id`);

CREATE TABLE `messages_before_sms` AS SELECT * FROM `messages`;
DROP TABLE `messages`;
CREATE TABLE `messages` (`id` text,`idempotency_key` text NOT NULL,`enrollment_id` text NOT NULL,`step_id` text NOT NULL,`customer_id` text NOT NULL,`campaign_id` text NOT NULL,`variant` text NOT NULL,`status` text NOT NULL,`recommended` text,`reasons` text,`recommend_note` text,`strategy` text,`channel` text,`subject` text,`preheader` text,`html` text,`text` text,`headers` text,`provider` text,`provider_message_id` text,`error` text,`sending_at` datetime,`sent_at` datetime,`confirmed_at` datetime,`delivery` text,`opened_at` datetime,`clicked_at` datetime,`unsubscribed_at` datetime,`complained_at` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
INSERT INTO `messages` (`id`,`idempotency_key`,`enrollment_id`,`step_id`,`customer_id`,`campaign_id`,`variant`,`status`,`recommended`,`reasons`,`recommend_note`,`strategy`,`subject`,`preheader`,`html`,`text`,`headers`,`provider`,`provider_message_id`,`error`,`sending_at`,`sent_at`,`confirmed_at`,`delivery`,`opened_at`,`clicked_at`,`unsubscribed_at`,`complained_at`,`created_at`,`updated_at`)
  SELECT `id`,`idempotency_key`,`enrollment_id`,`step_id`,`customer_id`,`campaign_id`,`variant`,`status`,`recommended`,`reasons`,`recommend_note`,`strategy`,`subject`,`preheader`,`html`,`text`,`headers`,`provider`,`provider_message_id`,`error`,`sending_at`,`sent_at`,`confirmed_at`,`delivery`,`opened_at`,`clicked_at`,`unsubscribed_at`,`complained_at`,`created_at`,`updated_at` FROM `messages_before_sms`;
DROP TABLE `messages_before_sms`;
CREATE INDEX `idx_messages_sending_at` ON `messages`(`sending_at`);
CREATE INDEX `idx_messages_provider_message_id` ON `messages`(`provider_message_id`);
CREATE INDEX `idx_messages_campaign_id` ON `messages`(`campaign_id`);
CREATE INDEX `idx_messages_customer_id` ON `messages`(`customer_id`);
CREATE INDEX `idx_messages_enrollment_id` ON `messages`(`enrollment_id`);
CREATE UNIQUE INDEX `idx_messages_idempotency_key` ON `messages`(`idempotency_key`);

-- +goose Down
ALTER TABLE `messages` DROP COLUMN `channel`;
ALTER TABLE `consent_records` DROP COLUMN `channel`;
ALTER TABLE `customers` DROP COLUMN `sms_consent_source`;
ALTER TABLE `customers` DROP COLUMN `sms_consent_at`;
ALTER TABLE `customers` DROP COLUMN `sms_consent`;
ALTER TABLE `customers` DROP COLUMN `phone`;
