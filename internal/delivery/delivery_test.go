package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/errs"
)

func TestSendGridMailer(t *testing.T) {
	t.Parallel()
	var got map[string]any
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v3/mail/send", r.URL.Path)
		require.Equal(t, "Bearer SG.key", r.Header.Get("Authorization"))
		body, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(body, &got))
		w.Header().Set("X-Message-Id", "sg-123")
		w.WriteHeader(status)
		if status >= 400 {
			_, _ = w.Write([]byte(`{"errors":[{"message":"The from address does not match a verified Sender Identity.","field":"from"}]}`))
		}
	}))
	defer srv.Close()
	sg := delivery.SendGrid{APIKey: "SG.key", BaseURL: srv.URL}
	e := delivery.Email{MessageID: "m-1", FromEmail: "shop@example.com", To: "ada@example.com", Subject: "Hi",
		HTML: "<p>Hi</p>", Text: "Hi", CustomArgs: map[string]string{"message_id": "m-1"}, Categories: []string{"lift"}}

	id, err := sg.Send(context.Background(), e)
	require.NoError(t, err)
	require.Equal(t, "sg-123", id)
	require.Equal(t, map[string]any{"message_id": "m-1"}, got["personalizations"].([]any)[0].(map[string]any)["custom_args"])
	require.Equal(t, []any{"lift"}, got["categories"])

	status = http.StatusBadRequest
	_, err = sg.Send(context.Background(), e)
	require.True(t, errs.Is(err, errs.PermanentRemote), "got %v", err)
	require.Contains(t, err.Error(), "verified Sender Identity")

	for _, s := range []int{http.StatusTooManyRequests, http.StatusInternalServerError} {
		status = s
		_, err = sg.Send(context.Background(), e)
		require.True(t, errs.Is(err, errs.Unavailable), "status %d is retried: %v", s, err)
	}
	for _, s := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge} {
		status = s
		_, err = sg.Send(context.Background(), e)
		require.True(t, errs.Is(err, errs.PermanentRemote), "status %d is final: %v", s, err)
	}

	status = http.StatusOK // sandbox mode
	_, err = delivery.SendGrid{APIKey: "SG.key", BaseURL: srv.URL, Sandbox: true}.Send(context.Background(), e)
	require.NoError(t, err)
	require.Equal(t, true, got["mail_settings"].(map[string]any)["sandbox_mode"].(map[string]any)["enable"])
}
