-- Each customer's latest event time, so re-engagement finds quiet
-- customers with one range query instead of a watcher workflow per
-- customer. Filled from the events already stored.

-- +goose Up
CREATE TABLE `customer_activity` (`customer_id` text,`last_event_at` datetime NOT NULL,PRIMARY KEY (`customer_id`));
CREATE INDEX `idx_customer_activity_last_event_at` ON `customer_activity`(`last_event_at`);
INSERT INTO `customer_activity` (`customer_id`, `last_event_at`)
    SELECT `customer_id`, max(`occurred_at`) FROM `events`
    WHERE `customer_id` IN (SELECT `id` FROM `customers`) AND `occurred_at` IS NOT NULL
    GROUP BY `customer_id`;

-- +goose Down
DROP TABLE `customer_activity`;
