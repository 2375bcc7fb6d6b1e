-- The schema as Lift's models made it before versioned migrations
-- (GORM's AutoMigrate at the 2026-11 release), read from sqlite_master. A
-- database made then is adopted at this version by lift migrate; every
-- later change is a migration of its own.

-- +goose Up
CREATE TABLE `affinities` (`sku_a` text,`sku_b` text,`orders` integer NOT NULL,`confidence` real NOT NULL,`lift` real NOT NULL,PRIMARY KEY (`sku_a`,`sku_b`));
CREATE TABLE `api_keys` (`id` integer PRIMARY KEY AUTOINCREMENT,`key_id` text,`name` text NOT NULL,`hash` blob NOT NULL,`scopes` text,`created_at` datetime,`last_used_at` datetime,`revoked_at` datetime);
CREATE TABLE `audit_entries` (`id` integer PRIMARY KEY AUTOINCREMENT,`at` datetime NOT NULL,`key_id` text NOT NULL,`action` text NOT NULL,`subject_id` text NOT NULL);
CREATE TABLE `campaign_versions` (`campaign_id` text,`version` integer,`trigger_event` text NOT NULL,`definition` blob NOT NULL,`published_at` datetime,PRIMARY KEY (`campaign_id`,`version`));
CREATE TABLE `campaigns` (`id` text,`name` text NOT NULL,`kind` text NOT NULL,`trigger_event` text NOT NULL,`definition` blob NOT NULL,`status` text NOT NULL DEFAULT "draft",`latest_version` integer NOT NULL DEFAULT 0,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `consent_records` (`id` integer PRIMARY KEY AUTOINCREMENT,`customer_id` text NOT NULL,`granted` numeric NOT NULL,`basis` text,`source` text,`wording_version` text,`ip` text,`user_agent` text,`at` datetime);
CREATE TABLE `console_sessions` (`token_hash` blob,`key_hash` blob NOT NULL,`created_at` datetime NOT NULL,`expires_at` datetime NOT NULL,PRIMARY KEY (`token_hash`));
CREATE TABLE `conversions` (`id` integer PRIMARY KEY AUTOINCREMENT,`enrollment_id` text NOT NULL,`order_id` text NOT NULL,`customer_id` text NOT NULL,`campaign_id` text NOT NULL,`variant` text NOT NULL,`goal` text NOT NULL,`revenue_minor` integer NOT NULL,`currency` text,`step_id` text,`message_id` text,`lag_seconds` integer,`ordered_at` datetime,`created_at` datetime);
CREATE TABLE `customers` (`id` text,`email` text NOT NULL,`name` text,`timezone` text NOT NULL DEFAULT "UTC",`locale` text NOT NULL DEFAULT "en",`consent` numeric NOT NULL DEFAULT false,`consent_basis` text,`consent_at` datetime,`consent_source` text,`country` text,`tier` text,`upsells_paused_until` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `data_migrations` (`name` text,`applied_at` datetime,PRIMARY KEY (`name`));
CREATE TABLE `enrollments` (`id` text,`customer_id` text NOT NULL,`campaign_id` text NOT NULL,`version` integer NOT NULL,`workflow_id` text NOT NULL,`variant` text NOT NULL,`trigger_event_id` text,`entry_key` text,`status` text NOT NULL,`exit_reason` text,`current_step` text,`emails_sent` integer NOT NULL DEFAULT 0,`converted_order` text,`revenue_minor` integer NOT NULL DEFAULT 0,`enrolled_at` datetime,`ended_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `events` (`id` text,`type` text NOT NULL,`customer_id` text NOT NULL,`sku` text,`occurred_at` datetime NOT NULL,`properties` text,`created_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `experiments` (`campaign_id` text,`id` text,`version` integer NOT NULL,`status` text NOT NULL,`metric` text NOT NULL,`min_sends` integer NOT NULL,`alpha` real NOT NULL,`auto_promote` numeric NOT NULL DEFAULT false,`move_running` numeric NOT NULL DEFAULT false,`guardrail_min_sends` integer NOT NULL,`winner` text,`p_values` text,`paused` text,`resumed` text,`move_pending` numeric NOT NULL DEFAULT false,`started_at` datetime,`ended_at` datetime,`last_checked_at` datetime,`updated_at` datetime,PRIMARY KEY (`campaign_id`,`id`));
CREATE TABLE `idempotency_records` (`id` integer PRIMARY KEY AUTOINCREMENT,`scope` text NOT NULL,`idem_key` text NOT NULL,`fingerprint` text NOT NULL,`status` integer NOT NULL DEFAULT 0,`content_type` text,`body` blob,`created_at` datetime);
CREATE TABLE `idempotency_subjects` (`record_id` integer,`customer_id` text,PRIMARY KEY (`record_id`,`customer_id`));
CREATE TABLE `install_secrets` (`name` text,`value` blob NOT NULL,PRIMARY KEY (`name`));
CREATE TABLE `item_similarities` (`sku_a` text,`sku_b` text,`customers` integer NOT NULL,`score` real NOT NULL,PRIMARY KEY (`sku_a`,`sku_b`));
CREATE TABLE `messages` (`id` text,`idempotency_key` text NOT NULL,`enrollment_id` text NOT NULL,`step_id` text NOT NULL,`customer_id` text NOT NULL,`campaign_id` text NOT NULL,`variant` text NOT NULL,`status` text NOT NULL,`recommended` text,`reasons` text,`recommend_note` text,`subject` text,`preheader` text,`html` text,`text` text,`headers` text,`provider` text,`provider_message_id` text,`error` text,`sending_at` datetime,`sent_at` datetime,`confirmed_at` datetime,`delivery` text,`opened_at` datetime,`clicked_at` datetime,`unsubscribed_at` datetime,`complained_at` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `order_items` (`id` integer PRIMARY KEY AUTOINCREMENT,`order_id` text NOT NULL,`sku` text NOT NULL,`quantity` integer NOT NULL,`price_minor` integer NOT NULL,CONSTRAINT `fk_orders_items` FOREIGN KEY (`order_id`) REFERENCES `orders`(`id`) ON DELETE CASCADE);
CREATE TABLE `orders` (`id` text,`customer_id` text NOT NULL,`event_id` text,`revenue_minor` integer NOT NULL DEFAULT 0,`currency` text NOT NULL,`occurred_at` datetime,`created_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `products` (`sku` text,`name` text NOT NULL,`category` text,`price_minor` integer NOT NULL DEFAULT 0,`currency` text NOT NULL DEFAULT "USD",`url` text,`image_url` text,`in_stock` numeric NOT NULL,`complements` text,`regions` text,`seasons` text,`rating` real NOT NULL DEFAULT 0,`reviews` integer NOT NULL DEFAULT 0,`testimonial` text,`tier_rank` integer NOT NULL DEFAULT 0,`features` text,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`sku`));
CREATE TABLE `send_slots` (`id` integer PRIMARY KEY AUTOINCREMENT,`customer_id` text NOT NULL,`message_id` text NOT NULL,`at` datetime NOT NULL);
CREATE TABLE `sign_in_failures` (`id` integer PRIMARY KEY AUTOINCREMENT,`source` text NOT NULL,`at` datetime NOT NULL);
CREATE TABLE `suppressions` (`id` integer PRIMARY KEY AUTOINCREMENT,`email_hash` text NOT NULL,`campaign_id` text NOT NULL DEFAULT "",`reason` text NOT NULL,`created_at` datetime);
CREATE TABLE `webhook_events` (`sg_event_id` text,`message_id` text,`type` text NOT NULL,`at` datetime,`created_at` datetime,PRIMARY KEY (`sg_event_id`));
CREATE TABLE `webhook_refusals` (`id` integer PRIMARY KEY AUTOINCREMENT,`at` datetime NOT NULL,`status` integer NOT NULL);
CREATE UNIQUE INDEX `idx_api_keys_hash` ON `api_keys`(`hash`);
CREATE UNIQUE INDEX `idx_api_keys_key_id` ON `api_keys`(`key_id`);
CREATE INDEX `idx_audit_entries_action` ON `audit_entries`(`action`);
CREATE INDEX `idx_audit_entries_at` ON `audit_entries`(`at`);
CREATE INDEX `idx_audit_entries_key_id` ON `audit_entries`(`key_id`);
CREATE INDEX `idx_audit_entries_subject_id` ON `audit_entries`(`subject_id`);
CREATE INDEX `idx_campaign_versions_trigger_event` ON `campaign_versions`(`trigger_event`);
CREATE INDEX `idx_campaigns_trigger_event` ON `campaigns`(`trigger_event`);
CREATE INDEX `idx_consent_records_customer_id` ON `consent_records`(`customer_id`);
CREATE INDEX `idx_console_sessions_expires_at` ON `console_sessions`(`expires_at`);
CREATE INDEX `idx_console_sessions_key_hash` ON `console_sessions`(`key_hash`);
CREATE UNIQUE INDEX `idx_conversion` ON `conversions`(`enrollment_id`,`order_id`);
CREATE INDEX `idx_conversions_campaign_id` ON `conversions`(`campaign_id`);
CREATE INDEX `idx_conversions_customer_id` ON `conversions`(`customer_id`);
CREATE INDEX `idx_enrollment_campaign` ON `enrollments`(`campaign_id`,`enrolled_at`);
CREATE INDEX `idx_enrollment_customer` ON `enrollments`(`customer_id`,`campaign_id`);
CREATE INDEX `idx_enrollments_status` ON `enrollments`(`status`);
CREATE INDEX `idx_enrollments_workflow_id` ON `enrollments`(`workflow_id`);
CREATE INDEX `idx_event_views` ON `events`(`type`,`customer_id`,`sku`);
CREATE INDEX `idx_events_customer_id` ON `events`(`customer_id`);
CREATE UNIQUE INDEX `idx_idempotency` ON `idempotency_records`(`scope`,`idem_key`);
CREATE INDEX `idx_idempotency_records_created_at` ON `idempotency_records`(`created_at`);
CREATE INDEX `idx_idempotency_subjects_customer_id` ON `idempotency_subjects`(`customer_id`);
CREATE INDEX `idx_messages_campaign_id` ON `messages`(`campaign_id`);
CREATE INDEX `idx_messages_customer_id` ON `messages`(`customer_id`);
CREATE INDEX `idx_messages_enrollment_id` ON `messages`(`enrollment_id`);
CREATE UNIQUE INDEX `idx_messages_idempotency_key` ON `messages`(`idempotency_key`);
CREATE INDEX `idx_messages_provider_message_id` ON `messages`(`provider_message_id`);
CREATE INDEX `idx_messages_sending_at` ON `messages`(`sending_at`);
CREATE UNIQUE INDEX idx_one_running_enrollment
		ON enrollments (customer_id, campaign_id) WHERE status = 'running';
CREATE UNIQUE INDEX `idx_order_item` ON `order_items`(`order_id`,`sku`);
CREATE INDEX `idx_order_items_order_id` ON `order_items`(`order_id`);
CREATE INDEX `idx_order_items_sku` ON `order_items`(`sku`);
CREATE INDEX `idx_orders_customer_id` ON `orders`(`customer_id`);
CREATE INDEX `idx_products_category` ON `products`(`category`);
CREATE UNIQUE INDEX `idx_send_slots_message_id` ON `send_slots`(`message_id`);
CREATE INDEX `idx_sign_in_failures_source_at` ON `sign_in_failures`(`source`,`at`);
CREATE INDEX `idx_slot_customer_at` ON `send_slots`(`customer_id`,`at`);
CREATE UNIQUE INDEX `idx_suppression` ON `suppressions`(`email_hash`,`campaign_id`);
CREATE INDEX `idx_webhook_events_message_id` ON `webhook_events`(`message_id`);
CREATE INDEX `idx_webhook_refusals_at` ON `webhook_refusals`(`at`);
