-- The schema as Lift's models made it before versioned migrations
-- (GORM's AutoMigrate at the 2026-11 release), dumped with pg_dump. A
-- database made then is adopted at this version by lift migrate; every
-- later change is a migration of its own.

-- +goose Up
CREATE TABLE affinities (
    sku_a character varying(128) NOT NULL,
    sku_b character varying(128) NOT NULL,
    orders bigint NOT NULL,
    confidence numeric NOT NULL,
    lift numeric NOT NULL
);

CREATE TABLE api_keys (
    id bigint NOT NULL,
    key_id character varying(32),
    name character varying(100) NOT NULL,
    hash bytea NOT NULL,
    scopes text,
    created_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone
);

CREATE SEQUENCE api_keys_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE api_keys_id_seq OWNED BY api_keys.id;

CREATE TABLE audit_entries (
    id bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    key_id character varying(32) NOT NULL,
    action character varying(40) NOT NULL,
    subject_id character varying(128) NOT NULL
);

CREATE SEQUENCE audit_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE audit_entries_id_seq OWNED BY audit_entries.id;

CREATE TABLE campaign_versions (
    campaign_id character varying(64) NOT NULL,
    version bigint NOT NULL,
    trigger_event character varying(32) NOT NULL,
    definition bytea NOT NULL,
    published_at timestamp with time zone
);

CREATE TABLE campaigns (
    id character varying(64) NOT NULL,
    name character varying(200) NOT NULL,
    kind character varying(32) NOT NULL,
    trigger_event character varying(32) NOT NULL,
    definition bytea NOT NULL,
    status character varying(16) DEFAULT 'draft'::character varying NOT NULL,
    latest_version bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE TABLE consent_records (
    id bigint NOT NULL,
    customer_id character varying(128) NOT NULL,
    granted boolean NOT NULL,
    basis character varying(16),
    source character varying(200),
    wording_version character varying(64),
    ip character varying(45),
    user_agent character varying(500),
    at timestamp with time zone
);

CREATE SEQUENCE consent_records_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE consent_records_id_seq OWNED BY consent_records.id;

CREATE TABLE console_sessions (
    token_hash bytea NOT NULL,
    key_hash bytea NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE conversions (
    id bigint NOT NULL,
    enrollment_id character varying(64) NOT NULL,
    order_id character varying(128) NOT NULL,
    customer_id character varying(128) NOT NULL,
    campaign_id character varying(64) NOT NULL,
    variant character varying(64) NOT NULL,
    goal character varying(32) NOT NULL,
    revenue_minor bigint NOT NULL,
    currency character varying(3),
    step_id character varying(64),
    message_id character varying(64),
    lag_seconds bigint,
    ordered_at timestamp with time zone,
    created_at timestamp with time zone
);

CREATE SEQUENCE conversions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE conversions_id_seq OWNED BY conversions.id;

CREATE TABLE customers (
    id character varying(128) NOT NULL,
    email character varying(320) NOT NULL,
    name character varying(200),
    timezone character varying(64) DEFAULT 'UTC'::character varying NOT NULL,
    locale character varying(35) DEFAULT 'en'::character varying NOT NULL,
    consent boolean DEFAULT false NOT NULL,
    consent_basis character varying(16),
    consent_at timestamp with time zone,
    consent_source character varying(200),
    country character varying(2),
    tier character varying(64),
    upsells_paused_until timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE TABLE data_migrations (
    name character varying(100) NOT NULL,
    applied_at timestamp with time zone
);

CREATE TABLE enrollments (
    id character varying(64) NOT NULL,
    customer_id character varying(128) NOT NULL,
    campaign_id character varying(64) NOT NULL,
    version bigint NOT NULL,
    workflow_id character varying(300) NOT NULL,
    variant character varying(64) NOT NULL,
    trigger_event_id character varying(128),
    entry_key character varying(300),
    status character varying(16) NOT NULL,
    exit_reason character varying(300),
    current_step character varying(64),
    emails_sent bigint DEFAULT 0 NOT NULL,
    converted_order character varying(128),
    revenue_minor bigint DEFAULT 0 NOT NULL,
    enrolled_at timestamp with time zone,
    ended_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE TABLE events (
    id character varying(128) NOT NULL,
    type character varying(32) NOT NULL,
    customer_id character varying(128) NOT NULL,
    sku character varying(128),
    occurred_at timestamp with time zone NOT NULL,
    properties text,
    created_at timestamp with time zone
);

CREATE TABLE experiments (
    campaign_id character varying(64) NOT NULL,
    id character varying(64) NOT NULL,
    version bigint NOT NULL,
    status character varying(16) NOT NULL,
    metric character varying(32) NOT NULL,
    min_sends bigint NOT NULL,
    alpha numeric NOT NULL,
    auto_promote boolean DEFAULT false NOT NULL,
    move_running boolean DEFAULT false NOT NULL,
    guardrail_min_sends bigint NOT NULL,
    winner character varying(64),
    p_values text,
    paused text,
    resumed text,
    move_pending boolean DEFAULT false NOT NULL,
    started_at timestamp with time zone,
    ended_at timestamp with time zone,
    last_checked_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE TABLE idempotency_records (
    id bigint NOT NULL,
    scope character varying(64) NOT NULL,
    idem_key character varying(255) NOT NULL,
    fingerprint character varying(64) NOT NULL,
    status bigint DEFAULT 0 NOT NULL,
    content_type character varying(100),
    body bytea,
    created_at timestamp with time zone
);

CREATE SEQUENCE idempotency_records_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE idempotency_records_id_seq OWNED BY idempotency_records.id;

CREATE TABLE idempotency_subjects (
    record_id bigint NOT NULL,
    customer_id character varying(128) NOT NULL
);

CREATE TABLE install_secrets (
    name character varying(64) NOT NULL,
    value bytea NOT NULL
);

CREATE TABLE item_similarities (
    sku_a character varying(128) NOT NULL,
    sku_b character varying(128) NOT NULL,
    customers bigint NOT NULL,
    score numeric NOT NULL
);

CREATE TABLE messages (
    id character varying(64) NOT NULL,
    idempotency_key character varying(200) NOT NULL,
    enrollment_id character varying(64) NOT NULL,
    step_id character varying(64) NOT NULL,
    customer_id character varying(128) NOT NULL,
    campaign_id character varying(64) NOT NULL,
    variant character varying(64) NOT NULL,
    status character varying(16) NOT NULL,
    recommended text,
    reasons text,
    recommend_note character varying(300),
    subject character varying(998),
    preheader character varying(300),
    html text,
    text text,
    headers text,
    provider character varying(32),
    provider_message_id character varying(200),
    error character varying(1000),
    sending_at timestamp with time zone,
    sent_at timestamp with time zone,
    confirmed_at timestamp with time zone,
    delivery character varying(16),
    opened_at timestamp with time zone,
    clicked_at timestamp with time zone,
    unsubscribed_at timestamp with time zone,
    complained_at timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE TABLE order_items (
    id bigint NOT NULL,
    order_id character varying(128) NOT NULL,
    sku character varying(128) NOT NULL,
    quantity bigint NOT NULL,
    price_minor bigint NOT NULL
);

CREATE SEQUENCE order_items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE order_items_id_seq OWNED BY order_items.id;

CREATE TABLE orders (
    id character varying(128) NOT NULL,
    customer_id character varying(128) NOT NULL,
    event_id character varying(128),
    revenue_minor bigint DEFAULT 0 NOT NULL,
    currency character varying(3) NOT NULL,
    occurred_at timestamp with time zone,
    created_at timestamp with time zone
);

CREATE TABLE products (
    sku character varying(128) NOT NULL,
    name character varying(300) NOT NULL,
    category character varying(128),
    price_minor bigint DEFAULT 0 NOT NULL,
    currency character varying(3) DEFAULT 'USD'::character varying NOT NULL,
    url character varying(2048),
    image_url character varying(2048),
    in_stock boolean NOT NULL,
    complements text,
    regions text,
    seasons text,
    rating numeric DEFAULT 0 NOT NULL,
    reviews bigint DEFAULT 0 NOT NULL,
    testimonial character varying(300),
    tier_rank bigint DEFAULT 0 NOT NULL,
    features text,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE TABLE send_slots (
    id bigint NOT NULL,
    customer_id character varying(128) NOT NULL,
    message_id character varying(64) NOT NULL,
    at timestamp with time zone NOT NULL
);

CREATE SEQUENCE send_slots_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE send_slots_id_seq OWNED BY send_slots.id;

CREATE TABLE sign_in_failures (
    id bigint NOT NULL,
    source character varying(64) NOT NULL,
    at timestamp with time zone NOT NULL
);

CREATE SEQUENCE sign_in_failures_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE sign_in_failures_id_seq OWNED BY sign_in_failures.id;

CREATE TABLE suppressions (
    id bigint NOT NULL,
    email_hash character varying(64) NOT NULL,
    campaign_id character varying(64) DEFAULT ''::character varying NOT NULL,
    reason character varying(32) NOT NULL,
    created_at timestamp with time zone
);

CREATE SEQUENCE suppressions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE suppressions_id_seq OWNED BY suppressions.id;

CREATE TABLE webhook_events (
    sg_event_id character varying(128) NOT NULL,
    message_id character varying(64),
    type character varying(32) NOT NULL,
    at timestamp with time zone,
    created_at timestamp with time zone
);

CREATE TABLE webhook_refusals (
    id bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    status bigint NOT NULL
);

CREATE SEQUENCE webhook_refusals_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE webhook_refusals_id_seq OWNED BY webhook_refusals.id;

ALTER TABLE ONLY api_keys ALTER COLUMN id SET DEFAULT nextval('api_keys_id_seq'::regclass);

ALTER TABLE ONLY audit_entries ALTER COLUMN id SET DEFAULT nextval('audit_entries_id_seq'::regclass);

ALTER TABLE ONLY consent_records ALTER COLUMN id SET DEFAULT nextval('consent_records_id_seq'::regclass);

ALTER TABLE ONLY conversions ALTER COLUMN id SET DEFAULT nextval('conversions_id_seq'::regclass);

ALTER TABLE ONLY idempotency_records ALTER COLUMN id SET DEFAULT nextval('idempotency_records_id_seq'::regclass);

ALTER TABLE ONLY order_items ALTER COLUMN id SET DEFAULT nextval('order_items_id_seq'::regclass);

ALTER TABLE ONLY send_slots ALTER COLUMN id SET DEFAULT nextval('send_slots_id_seq'::regclass);

ALTER TABLE ONLY sign_in_failures ALTER COLUMN id SET DEFAULT nextval('sign_in_failures_id_seq'::regclass);

ALTER TABLE ONLY suppressions ALTER COLUMN id SET DEFAULT nextval('suppressions_id_seq'::regclass);

ALTER TABLE ONLY webhook_refusals ALTER COLUMN id SET DEFAULT nextval('webhook_refusals_id_seq'::regclass);

ALTER TABLE ONLY affinities
    ADD CONSTRAINT affinities_pkey PRIMARY KEY (sku_a, sku_b);

ALTER TABLE ONLY api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

ALTER TABLE ONLY audit_entries
    ADD CONSTRAINT audit_entries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY campaign_versions
    ADD CONSTRAINT campaign_versions_pkey PRIMARY KEY (campaign_id, version);

ALTER TABLE ONLY campaigns
    ADD CONSTRAINT campaigns_pkey PRIMARY KEY (id);

ALTER TABLE ONLY consent_records
    ADD CONSTRAINT consent_records_pkey PRIMARY KEY (id);

ALTER TABLE ONLY console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (token_hash);

ALTER TABLE ONLY conversions
    ADD CONSTRAINT conversions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY data_migrations
    ADD CONSTRAINT data_migrations_pkey PRIMARY KEY (name);

ALTER TABLE ONLY enrollments
    ADD CONSTRAINT enrollments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY experiments
    ADD CONSTRAINT experiments_pkey PRIMARY KEY (campaign_id, id);

ALTER TABLE ONLY idempotency_records
    ADD CONSTRAINT idempotency_records_pkey PRIMARY KEY (id);

ALTER TABLE ONLY idempotency_subjects
    ADD CONSTRAINT idempotency_subjects_pkey PRIMARY KEY (record_id, customer_id);

ALTER TABLE ONLY install_secrets
    ADD CONSTRAINT install_secrets_pkey PRIMARY KEY (name);

ALTER TABLE ONLY item_similarities
    ADD CONSTRAINT item_similarities_pkey PRIMARY KEY (sku_a, sku_b);

ALTER TABLE ONLY messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY order_items
    ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);

ALTER TABLE ONLY orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

ALTER TABLE ONLY products
    ADD CONSTRAINT products_pkey PRIMARY KEY (sku);

ALTER TABLE ONLY send_slots
    ADD CONSTRAINT send_slots_pkey PRIMARY KEY (id);

ALTER TABLE ONLY sign_in_failures
    ADD CONSTRAINT sign_in_failures_pkey PRIMARY KEY (id);

ALTER TABLE ONLY suppressions
    ADD CONSTRAINT suppressions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (sg_event_id);

ALTER TABLE ONLY webhook_refusals
    ADD CONSTRAINT webhook_refusals_pkey PRIMARY KEY (id);

CREATE UNIQUE INDEX idx_api_keys_hash ON api_keys USING btree (hash);

CREATE UNIQUE INDEX idx_api_keys_key_id ON api_keys USING btree (key_id);

CREATE INDEX idx_audit_entries_action ON audit_entries USING btree (action);

CREATE INDEX idx_audit_entries_at ON audit_entries USING btree (at);

CREATE INDEX idx_audit_entries_key_id ON audit_entries USING btree (key_id);

CREATE INDEX idx_audit_entries_subject_id ON audit_entries USING btree (subject_id);

CREATE INDEX idx_campaign_versions_trigger_event ON campaign_versions USING btree (trigger_event);

CREATE INDEX idx_campaigns_trigger_event ON campaigns USING btree (trigger_event);

CREATE INDEX idx_consent_records_customer_id ON consent_records USING btree (customer_id);

CREATE INDEX idx_console_sessions_expires_at ON console_sessions USING btree (expires_at);

CREATE INDEX idx_console_sessions_key_hash ON console_sessions USING btree (key_hash);

CREATE UNIQUE INDEX idx_conversion ON conversions USING btree (enrollment_id, order_id);

CREATE INDEX idx_conversions_campaign_id ON conversions USING btree (campaign_id);

CREATE INDEX idx_conversions_customer_id ON conversions USING btree (customer_id);

CREATE INDEX idx_enrollment_campaign ON enrollments USING btree (campaign_id, enrolled_at);

CREATE INDEX idx_enrollment_customer ON enrollments USING btree (customer_id, campaign_id);

CREATE INDEX idx_enrollments_status ON enrollments USING btree (status);

CREATE INDEX idx_enrollments_workflow_id ON enrollments USING btree (workflow_id);

CREATE INDEX idx_event_views ON events USING btree (type, customer_id, sku);

CREATE INDEX idx_events_customer_id ON events USING btree (customer_id);

CREATE UNIQUE INDEX idx_idempotency ON idempotency_records USING btree (scope, idem_key);

CREATE INDEX idx_idempotency_records_created_at ON idempotency_records USING btree (created_at);

CREATE INDEX idx_idempotency_subjects_customer_id ON idempotency_subjects USING btree (customer_id);

CREATE INDEX idx_messages_campaign_id ON messages USING btree (campaign_id);

CREATE INDEX idx_messages_customer_id ON messages USING btree (customer_id);

CREATE INDEX idx_messages_enrollment_id ON messages USING btree (enrollment_id);

CREATE UNIQUE INDEX idx_messages_idempotency_key ON messages USING btree (idempotency_key);

CREATE INDEX idx_messages_provider_message_id ON messages USING btree (provider_message_id);

CREATE INDEX idx_messages_sending_at ON messages USING btree (sending_at);

CREATE UNIQUE INDEX idx_one_running_enrollment ON enrollments USING btree (customer_id, campaign_id) WHERE ((status)::text = 'running'::text);

CREATE UNIQUE INDEX idx_order_item ON order_items USING btree (order_id, sku);

CREATE INDEX idx_order_items_order_id ON order_items USING btree (order_id);

CREATE INDEX idx_order_items_sku ON order_items USING btree (sku);

CREATE INDEX idx_orders_customer_id ON orders USING btree (customer_id);

CREATE INDEX idx_products_category ON products USING btree (category);

CREATE UNIQUE INDEX idx_send_slots_message_id ON send_slots USING btree (message_id);

CREATE INDEX idx_sign_in_failures_source_at ON sign_in_failures USING btree (source, at);

CREATE INDEX idx_slot_customer_at ON send_slots USING btree (customer_id, at);

CREATE UNIQUE INDEX idx_suppression ON suppressions USING btree (email_hash, campaign_id);

CREATE INDEX idx_webhook_events_message_id ON webhook_events USING btree (message_id);

CREATE INDEX idx_webhook_refusals_at ON webhook_refusals USING btree (at);

ALTER TABLE ONLY order_items
    ADD CONSTRAINT fk_orders_items FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE;
