-- The recommendation model as the rebuild stores it: bought_together's
-- shrunk-confidence score, each product's share of the history, the best
-- sellers per window and category, the rebuild's state (a lease, so two
-- never overlap, and the last outcome) and the strategy each message's
-- recommendations came from. SQLite adds columns by rebuilding the
-- tables, so their definitions read as the models make them; the pairs
-- are rebuilt from the orders at the next rebuild.

-- +goose Up
DROP TABLE `affinities`;
CREATE TABLE `affinities` (`sku_a` text,`sku_b` text,`orders` integer NOT NULL,`confidence` real NOT NULL,`lift` real NOT NULL,`score` real NOT NULL DEFAULT 0,PRIMARY KEY (`sku_a`,`sku_b`));
CREATE TABLE `product_stats` (`sku` text,`orders` integer NOT NULL,`customers` integer NOT NULL,PRIMARY KEY (`sku`));
CREATE TABLE `popular_products` (`window_days` integer,`category` text,`rank` integer,`sku` text NOT NULL,`orders` integer NOT NULL,PRIMARY KEY (`window_days`,`category`,`rank`));
CREATE TABLE `recs_states` (`id` integer PRIMARY KEY AUTOINCREMENT,`state` text NOT NULL DEFAULT "idle",`lease_until` datetime,`started_at` datetime,`finished_at` datetime,`built_at` datetime,`took_ms` integer,`error` text,`model` blob,`evaluation` blob,`auto` text,`auto_reason` text);
CREATE TABLE `messages_before_strategy` AS SELECT * FROM `messages`;
DROP TABLE `messages`;
CREATE TABLE `messages` (`id` text,`idempotency_key` text NOT NULL,`enrollment_id` text NOT NULL,`step_id` text NOT NULL,`customer_id` text NOT NULL,`campaign_id` text NOT NULL,`variant` text NOT NULL,`status` text NOT NULL,`recommended` text,`reasons` text,`recommend_note` text,`strategy` text,`subject` text,`preheader` text,`html` text,`text` text,`headers` text,`provider` text,`provider_message_id` text,`error` text,`sending_at` datetime,`sent_at` datetime,`confirmed_at` datetime,`delivery` text,`opened_at` datetime,`clicked_at` datetime,`unsubscribed_at` datetime,`complained_at` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
INSERT INTO `messages` (`id`,`idempotency_key`,`enrollment_id`,`step_id`,`customer_id`,`campaign_id`,`variant`,`status`,`recommended`,`reasons`,`recommend_note`,`subject`,`preheader`,`html`,`text`,`headers`,`provider`,`provider_message_id`,`error`,`sending_at`,`sent_at`,`confirmed_at`,`delivery`,`opened_at`,`clicked_at`,`unsubscribed_at`,`complained_at`,`created_at`,`updated_at`)
  SELECT `id`,`idempotency_key`,`enrollment_id`,`step_id`,`customer_id`,`campaign_id`,`variant`,`status`,`recommended`,`reasons`,`recommend_note`,`subject`,`preheader`,`html`,`text`,`headers`,`provider`,`provider_message_id`,`error`,`sending_at`,`sent_at`,`confirmed_at`,`delivery`,`opened_at`,`clicked_at`,`unsubscribed_at`,`complained_at`,`created_at`,`updated_at` FROM `messages_before_strategy`;
DROP TABLE `messages_before_strategy`;
CREATE INDEX `idx_messages_sending_at` ON `messages`(`sending_at`);
CREATE INDEX `idx_messages_provider_message_id` ON `messages`(`provider_message_id`);
CREATE INDEX `idx_messages_campaign_id` ON `messages`(`campaign_id`);
CREATE INDEX `idx_messages_customer_id` ON `messages`(`customer_id`);
CREATE INDEX `idx_messages_enrollment_id` ON `messages`(`enrollment_id`);
CREATE UNIQUE INDEX `idx_messages_idempotency_key` ON `messages`(`idempotency_key`);

-- +goose Down
ALTER TABLE `messages` DROP COLUMN `strategy`;
DROP TABLE `recs_states`;
DROP TABLE `popular_products`;
DROP TABLE `product_stats`;
ALTER TABLE `affinities` DROP COLUMN `score`;
