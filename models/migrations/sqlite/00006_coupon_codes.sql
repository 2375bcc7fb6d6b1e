-- Unique coupon codes: pools of codes a step's incentive draws from, one
-- code per message, never twice.

-- +goose Up
CREATE TABLE `coupon_codes` (`pool_id` text,`code` text,`message_id` text,`issued_at` datetime,`expires_at` datetime,`created_at` datetime,PRIMARY KEY (`pool_id`,`code`));
CREATE INDEX `idx_coupon_codes_code` ON `coupon_codes`(`code`);
CREATE UNIQUE INDEX `idx_coupon_codes_message_id` ON `coupon_codes`(`message_id`);

-- +goose Down
DROP TABLE `coupon_codes`;
