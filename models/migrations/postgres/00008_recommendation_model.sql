-- The recommendation model as the rebuild stores it: bought_together's
-- shrunk-confidence score, each product's share of the history, the best
-- sellers per window and category, the rebuild's state (a lease, so two
-- never overlap, and the last outcome) and the strategy each message's
-- recommendations came from.

-- +goose Up
ALTER TABLE affinities ADD COLUMN score numeric DEFAULT 0 NOT NULL;
CREATE TABLE product_stats (
    sku character varying(128) NOT NULL,
    orders bigint NOT NULL,
    customers bigint NOT NULL,
    CONSTRAINT product_stats_pkey PRIMARY KEY (sku)
);
CREATE TABLE popular_products (
    window_days bigint NOT NULL,
    category character varying(128) NOT NULL,
    rank bigint NOT NULL,
    sku character varying(128) NOT NULL,
    orders bigint NOT NULL,
    CONSTRAINT popular_products_pkey PRIMARY KEY (window_days, category, rank)
);
CREATE TABLE recs_states (
    id bigserial NOT NULL,
    state character varying(16) DEFAULT 'idle'::character varying NOT NULL,
    lease_until timestamp with time zone,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    built_at timestamp with time zone,
    took_ms bigint,
    error character varying(1000),
    model bytea,
    evaluation bytea,
    auto character varying(32),
    auto_reason character varying(1000),
    CONSTRAINT recs_states_pkey PRIMARY KEY (id)
);
ALTER TABLE messages ADD COLUMN strategy character varying(32);

-- +goose Down
ALTER TABLE messages DROP COLUMN strategy;
DROP TABLE recs_states;
DROP TABLE popular_products;
DROP TABLE product_stats;
ALTER TABLE affinities DROP COLUMN score;
