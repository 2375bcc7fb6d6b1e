-- An ended sequence keeps each step's final state and reason, and the
-- winner a promotion moved it to, on its enrollment: the journey answers
-- "why didn't they get email N?" once the workflow has gone.

-- +goose Up
ALTER TABLE enrollments ADD COLUMN promoted_to varchar(64);
ALTER TABLE enrollments ADD COLUMN steps text;

-- +goose Down
ALTER TABLE enrollments DROP COLUMN steps;
ALTER TABLE enrollments DROP COLUMN promoted_to;
