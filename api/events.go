package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/errs"
)

// EventRequest is the body of POST /v1/events.
type EventRequest = app.Event

// EventResponse says what an event did.
type EventResponse = app.EventResult

// postEvent records one event; see app.Ingest.
func (h *handlers) postEvent(c *gin.Context) {
	var req EventRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, req.CustomerID)
	resp, err := h.App.Ingest(c.Request.Context(), req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, resp)
}

// MaxBatch is the most events POST /v1/events:batch takes.
const MaxBatch = 1000

// BatchRequest is the body of POST /v1/events:batch.
type BatchRequest struct {
	Events []json.RawMessage `json:"events"`
}

// BatchItem is one event's outcome in a batch: its HTTP status and either
// the result or the error it would have had on its own.
type BatchItem struct {
	Index  int            `json:"index"`
	Status int            `json:"status"`
	Result *EventResponse `json:"result,omitempty"`
	Error  *ErrorDetail   `json:"error,omitempty"`
}

// postEventBatch records up to MaxBatch events, each on its own: one bad
// event does not stop the others, and the answer says, per item, what
// happened. Each event has the limits it would have alone.
func (h *handlers) postEventBatch(c *gin.Context) {
	var req BatchRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if len(req.Events) == 0 || len(req.Events) > MaxBatch {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "events", "must hold 1 to %d events", MaxBatch))
		return
	}
	items := make([]BatchItem, len(req.Events))
	for i, raw := range req.Events {
		items[i].Index = i
		var ev EventRequest
		err := decodeStrict(raw, &ev)
		if int64(len(raw)) > h.MaxBodyBytes { // the limit of an event alone
			err = errs.E(errs.TooLarge, "the event is larger than %d bytes", h.MaxBodyBytes)
		}
		var resp EventResponse
		if err == nil {
			about(c, ev.CustomerID)
			resp, err = h.App.Ingest(c.Request.Context(), ev)
		}
		if err != nil {
			e, _ := errs.As(err)
			if e == nil || e.Code == errs.Internal {
				h.Logger.Error("batch event failed", "index", i, "err", err)
				e = errs.E(errs.Internal, "internal error")
			}
			items[i].Status = statusFor(e.Code)
			if items[i].Status >= 500 {
				c.Set(ctxKeyNotReplayable, true) // an Idempotency-Key retry must run this item again
			}
			items[i].Error = &ErrorDetail{Code: string(e.Code), Field: prefixField(i, e.Field), Message: e.Message}
			continue
		}
		items[i].Status, items[i].Result = http.StatusAccepted, &resp
	}
	c.JSON(http.StatusOK, gin.H{"results": items})
}

func prefixField(i int, field string) string {
	if field == "" {
		return fmt.Sprintf("events[%d]", i)
	}
	return fmt.Sprintf("events[%d].%s", i, field)
}
