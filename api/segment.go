package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
)

// Segment's HTTP tracking API limits: a call at most 32 KB, a batch at
// most 500 KB.
const (
	segmentMaxCall  = 32 << 10
	segmentMaxBatch = 500 << 10
)

// segmentAuth authenticates a Segment-compatible call: Basic auth with a
// Lift API key as the write key (the password is empty), as Segment's
// libraries and destinations send it; Bearer works too. The key needs
// the ingest scope.
func (h *handlers) segmentAuth(c *gin.Context) {
	key := ""
	if user, _, ok := c.Request.BasicAuth(); ok {
		key = user
	} else if scheme, k, ok := strings.Cut(c.GetHeader("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		key = strings.TrimSpace(k)
	}
	if key == "" {
		c.Header("WWW-Authenticate", `Basic realm="lift"`)
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "missing write key: send a Lift API key as the Basic auth user name"))
		return
	}
	p, err := h.App.Authenticate(c.Request.Context(), key)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if !p.Has(domain.KeyScopeIngest) {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "this key (%s) may not do this: it needs the ingest scope", p.KeyID))
		return
	}
	c.Set(ctxKeyPrincipal, p)
	c.Next()
}

// segmentCall takes one track, identify, page, screen, group or alias
// call. Every well-formed call is answered 200, whatever Lift made of it
// (lift_segment_messages_total counts that), so the sender never retries
// one Lift does not model.
func (h *handlers) segmentCall(c *gin.Context) {
	var m app.SegmentMessage
	if err := decodeLoose(c, &m); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	m.Type = strings.TrimPrefix(c.FullPath(), "/segment/v1/")
	m.KeyID = principal(c).KeyID
	out, err := h.App.Segment(c.Request.Context(), m, h.App.Settings.Segment)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, m.UserID)
	// Segment's libraries read only the status; a person reads the rest.
	c.JSON(http.StatusOK, gin.H{"success": true, "outcome": out.Outcome, "reason": out.Reason})
}

// segmentBatch takes a batch of calls, in order. A call over 32 KB is
// skipped and counted; a failure of Lift's answers the whole batch 5xx,
// and the sender's retry is safe: messageId makes each call once.
func (h *handlers) segmentBatch(c *gin.Context) {
	var req struct {
		Batch   []json.RawMessage `json:"batch"`
		Context map[string]any    `json:"context"`
	}
	if err := decodeLoose(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if len(req.Batch) > MaxBatch {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "batch", "at most %d calls in a batch (as POST /v1/events:batch)", MaxBatch))
		return
	}
	results := make([]gin.H, 0, len(req.Batch))
	for i, raw := range req.Batch {
		if len(raw) > segmentMaxCall {
			h.Logger.WarnContext(c.Request.Context(), "segment call over 32 KB skipped", "index", i)
			results = append(results, gin.H{"index": i, "outcome": app.SegmentInvalid, "reason": "over 32 KB: skipped"})
			continue
		}
		var m app.SegmentMessage
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			writeError(c, h.Logger, errs.Field(errs.Malformed, "batch", "item %d is not a Segment call", i))
			return
		}
		if m.Context == nil {
			m.Context = req.Context
		}
		m.KeyID = principal(c).KeyID
		out, err := h.App.Segment(c.Request.Context(), m, h.App.Settings.Segment)
		if err != nil {
			if errs.Is(err, errs.Malformed) {
				results = append(results, gin.H{"index": i, "outcome": app.SegmentInvalid, "reason": errs.Message(err)})
				continue // not a call at all
			}
			writeError(c, h.Logger, err)
			return
		}
		about(c, m.UserID)
		results = append(results, gin.H{"index": i, "outcome": out.Outcome, "reason": out.Reason})
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "results": results})
}

// decodeLoose decodes a JSON object, ignoring fields Lift does not read
// (Segment's payloads carry many: integrations, sentAt, version, …).
func decodeLoose(c *gin.Context, dst any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	return nil
}
