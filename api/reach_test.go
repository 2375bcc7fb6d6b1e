package api_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 27: a customer's phone and SMS consent, a record of its own.
func TestPhoneAndSMSConsentAreTheirOwnRecord(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		st, body := b.do(t, "PUT", "/v1/customers/kim", `{"email":"kim@example.com","marketing_consent":true,"country":"DE","phone":"0151 23456789"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "+4915123456789", body["phone"], "read in the customer's country, kept in E.164")
		require.Equal(t, false, body["sms_consent"], "email consent never covers texts")

		for req, field := range map[string]string{
			`{"email":"kim@example.com","marketing_consent":true,"phone":"12"}`:             "phone",
			`{"email":"kim@example.com","marketing_consent":true,"phone":"+49 30 1234567"}`: "phone",
			`{"email":"lee@example.com","marketing_consent":true,"sms_consent":true}`:       "sms_consent",
			`{"email":"kim@example.com","marketing_consent":true,"phone":"+4915199999999"}`: "",
		} {
			id := "kim"
			if field == "sms_consent" {
				id = "lee"
			}
			st, body := b.do(t, "PUT", "/v1/customers/"+id, req)
			if field == "" {
				require.Equal(t, 200, st, "%v", body)
				continue
			}
			requireError(t, st, body, 422, "invalid", field)
		}
		st, body = b.do(t, "PUT", "/v1/customers/kim", `{"email":"kim@example.com","marketing_consent":true,"sms_consent":true,"sms_consent_source":"checkout sms box"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, true, body["sms_consent"])
		require.Equal(t, "+4915199999999", body["phone"], "an omitted phone stays")
		// A new number needs consent said again.
		st, body = b.do(t, "PUT", "/v1/customers/kim", `{"email":"kim@example.com","marketing_consent":true,"phone":"+4915111111111"}`)
		requireError(t, st, body, 422, "invalid", "sms_consent")

		history, err := b.store.ConsentHistory(context.Background(), "kim")
		require.NoError(t, err)
		var sms []string
		for _, r := range history {
			if r.Channel == "sms" {
				sms = append(sms, r.Source)
			}
		}
		require.Equal(t, []string{"checkout sms box"}, sms, "SMS consent is recorded on its own, with its source")
	})
}
