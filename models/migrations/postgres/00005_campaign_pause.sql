-- A marketer may pause a whole campaign (no enrolments, sends wait) with
-- a reason the console shows.

-- +goose Up
ALTER TABLE campaigns ADD COLUMN paused_at timestamp with time zone;
ALTER TABLE campaigns ADD COLUMN paused_reason varchar(300);

-- +goose Down
ALTER TABLE campaigns DROP COLUMN paused_reason;
ALTER TABLE campaigns DROP COLUMN paused_at;
