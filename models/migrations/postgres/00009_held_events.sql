-- Events for a customer Lift does not know yet (an order before its
-- identify, an anonymous visitor's calls), kept and applied when the
-- customer appears, purged after seven days.

-- +goose Up
CREATE TABLE held_events (
    id bigserial NOT NULL,
    customer_key character varying(160) NOT NULL,
    event_id character varying(128) NOT NULL,
    source character varying(16) NOT NULL,
    payload bytea NOT NULL,
    received_at timestamp with time zone NOT NULL,
    CONSTRAINT held_events_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_held_events_received_at ON held_events USING btree (received_at);
CREATE UNIQUE INDEX idx_held_key_event ON held_events USING btree (customer_key, event_id);

-- +goose Down
DROP TABLE held_events;
