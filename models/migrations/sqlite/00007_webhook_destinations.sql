-- Flow webhook steps: the destinations they post to and each step's
-- delivery (at most one accepted per enrolment and step).

-- +goose Up
CREATE TABLE `destinations` (`id` text,`url` text NOT NULL,`secret` text NOT NULL,`channel` text,`include_email` numeric,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE `webhook_deliveries` (`enrollment_id` text,`step_id` text,`destination_id` text NOT NULL,`attempts` integer NOT NULL DEFAULT 0,`last_status` integer,`last_error` text,`delivered_at` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`enrollment_id`,`step_id`));

-- +goose Down
DROP TABLE `webhook_deliveries`;
DROP TABLE `destinations`;
