-- Flow webhook steps: the destinations they post to and each step's
-- delivery (at most one accepted per enrolment and step).

-- +goose Up
CREATE TABLE destinations (
    id character varying(64) NOT NULL,
    url character varying(2048) NOT NULL,
    secret character varying(256) NOT NULL,
    channel character varying(32),
    include_email boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT destinations_pkey PRIMARY KEY (id)
);
CREATE TABLE webhook_deliveries (
    enrollment_id character varying(64) NOT NULL,
    step_id character varying(64) NOT NULL,
    destination_id character varying(64) NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    last_status bigint,
    last_error character varying(512),
    delivered_at timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (enrollment_id, step_id)
);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE destinations;
