-- Unique coupon codes: pools of codes a step's incentive draws from, one
-- code per message, never twice.

-- +goose Up
CREATE TABLE coupon_codes (
    pool_id character varying(64) NOT NULL,
    code character varying(64) NOT NULL,
    message_id character varying(64),
    issued_at timestamp with time zone,
    expires_at timestamp with time zone,
    created_at timestamp with time zone,
    CONSTRAINT coupon_codes_pkey PRIMARY KEY (pool_id, code)
);
CREATE INDEX idx_coupon_codes_code ON coupon_codes USING btree (code);
CREATE UNIQUE INDEX idx_coupon_codes_message_id ON coupon_codes USING btree (message_id);

-- +goose Down
DROP TABLE coupon_codes;
