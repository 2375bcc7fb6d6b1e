package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/errs"
)

// IdempotencyHeader makes a POST safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// idempotent makes a POST with an Idempotency-Key safe to retry: the
// first request's response is stored and replayed for every retry with the
// same key and the same request; the same key with a different request is
// refused (422). A response with a 5xx status is not stored, so a retry
// after an outage runs again. Keys are kept for at least 24 hours.
func (h *handlers) idempotent(c *gin.Context) {
	key := c.GetHeader(IdempotencyHeader)
	// An import is idempotent by its rows' IDs, and its body may be
	// gigabytes: the header is not needed and the body is not held.
	if c.Request.Method != http.MethodPost || key == "" || c.FullPath() == "/v1/imports/:kind" {
		c.Next()
		return
	}
	if err := app.CheckText(IdempotencyHeader, key, 255); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeError(c, h.Logger, decodeError(err))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	sum.Write([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n"))
	sum.Write(body)
	fingerprint := hex.EncodeToString(sum.Sum(nil))

	ctx := c.Request.Context()
	rec, fresh, err := h.Store.BeginIdempotent(ctx, principal(c).Partition(), key, fingerprint, h.Now().UTC())
	switch {
	case err != nil:
		writeError(c, h.Logger, err)
		return
	case !fresh && rec.Fingerprint != fingerprint:
		writeError(c, h.Logger, errs.Field(errs.Invalid, IdempotencyHeader, "this key was already used for a different request"))
		return
	case !fresh && rec.Status == 0:
		writeError(c, h.Logger, errs.Field(errs.Conflict, IdempotencyHeader, "the first request with this key is still in progress; retry shortly"))
		return
	case !fresh:
		// A replayed answer is read again: its subjects go to the audit log.
		if subjects, err := h.Store.IdempotencySubjects(ctx, rec.ID); err == nil {
			about(c, subjects...)
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(rec.Status, rec.ContentType, rec.Body)
		c.Abort()
		return
	}

	// Settle the key whatever happens below: a client that hung up, or a
	// panic, must not leave it "in progress" (the context outlives them).
	settle := context.WithoutCancel(ctx)
	rw := &recorder{ResponseWriter: c.Writer}
	c.Writer = rw
	defer func() {
		if p := recover(); p != nil {
			_ = h.Store.ForgetIdempotent(settle, rec.ID)
			panic(p)
		}
		if rw.Status() >= 500 || c.GetBool(ctxKeyNotReplayable) {
			if err := h.Store.ForgetIdempotent(settle, rec.ID); err != nil {
				h.Logger.Error("idempotency key not released", "err", err)
			}
			return
		}
		if err := h.Store.FinishIdempotent(settle, rec.ID, rw.Status(), rw.Header().Get("Content-Type"), rw.body.Bytes(), c.GetStringSlice(ctxKeySubjects)); err != nil {
			h.Logger.Error("idempotent response not stored", "err", err)
		}
	}()
	c.Next()
}

// ctxKeySubjects lists the customers a response is about; see about.
const ctxKeySubjects = "lift.subjects"

// about records that the response names customers, so that erasing one
// of them erases a stored Idempotency-Key answer too.
func about(c *gin.Context, customerIDs ...string) {
	ids := c.GetStringSlice(ctxKeySubjects)
	for _, id := range customerIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	c.Set(ctxKeySubjects, ids)
}

// ctxKeyNotReplayable marks a response that must not be replayed for its
// key, e.g. a batch in which an item met an outage: a retry must run again.
const ctxKeyNotReplayable = "lift.not_replayable"

// recorder keeps a copy of the response body.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}
