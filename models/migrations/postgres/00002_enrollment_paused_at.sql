-- A paused journey is marked on its enrollment, so the step activity
-- (RunStep) holds a send that a pause overtook.

-- +goose Up
ALTER TABLE enrollments ADD COLUMN paused_at timestamp with time zone;

-- +goose Down
ALTER TABLE enrollments DROP COLUMN paused_at;
