-- Events for a customer Lift does not know yet (an order before its
-- identify, an anonymous visitor's calls), kept and applied when the
-- customer appears, purged after seven days.

-- +goose Up
CREATE TABLE `held_events` (`id` integer PRIMARY KEY AUTOINCREMENT,`customer_key` text NOT NULL,`event_id` text NOT NULL,`source` text NOT NULL,`payload` blob NOT NULL,`received_at` datetime NOT NULL);
CREATE INDEX `idx_held_events_received_at` ON `held_events`(`received_at`);
CREATE UNIQUE INDEX `idx_held_key_event` ON `held_events`(`customer_key`,`event_id`);

-- +goose Down
DROP TABLE `held_events`;
