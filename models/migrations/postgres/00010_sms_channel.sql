-- SMS as a channel of its own: a customer's mobile number and their SMS
-- consent (a record of its own, never inferred from email consent), the
-- channel a consent record is about, and the channel a message goes by.

-- +goose Up
ALTER TABLE customers ADD COLUMN phone character varying(20);
ALTER TABLE customers ADD COLUMN sms_consent boolean DEFAULT false NOT NULL;
ALTER TABLE customers ADD COLUMN sms_consent_at timestamp with time zone;
ALTER TABLE customers ADD COLUMN sms_consent_source character varying(200);
ALTER TABLE consent_records ADD COLUMN channel character varying(8) DEFAULT 'email'::character varying NOT NULL;
ALTER TABLE messages ADD COLUMN channel character varying(8);

-- +goose Down
ALTER TABLE messages DROP COLUMN channel;
ALTER TABLE consent_records DROP COLUMN channel;
ALTER TABLE customers DROP COLUMN sms_consent_source;
ALTER TABLE customers DROP COLUMN sms_consent_at;
ALTER TABLE customers DROP COLUMN sms_consent;
ALTER TABLE customers DROP COLUMN phone;
