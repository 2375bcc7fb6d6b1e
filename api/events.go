package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

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

// batchIdle is how long a batch may go without finishing an event before
// the server gives up writing its answer.
const batchIdle = 30 * time.Second

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
// happened. Each event has the limits it would have alone. Customers'
// events run concurrently, each customer's in the order sent.
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
	events := make([]*EventRequest, len(req.Events))
	// Each customer's events run in the order sent, one after another;
	// different customers' run side by side, batchConcurrency at a time.
	var order []string
	byCustomer := map[string][]int{}
	for i, raw := range req.Events {
		items[i].Index = i
		var ev EventRequest
		err := decodeStrict(raw, &ev)
		if int64(len(raw)) > h.MaxBodyBytes { // the limit of an event alone
			err = errs.E(errs.TooLarge, "the event is larger than %d bytes", h.MaxBodyBytes)
		}
		if err != nil {
			h.batchError(c, &items[i], err)
			continue
		}
		about(c, ev.CustomerID)
		events[i] = &ev
		if _, seen := byCustomer[ev.CustomerID]; !seen {
			order = append(order, ev.CustomerID)
		}
		byCustomer[ev.CustomerID] = append(byCustomer[ev.CustomerID], i)
	}
	results := make([]error, len(req.Events))
	responses := make([]EventResponse, len(req.Events))
	// A batch that keeps making progress outlives the server's write
	// timeout (30 s): on a loaded Temporal, a thousand events that each
	// start a sequence take longer. Each event done moves the deadline.
	rc := http.NewResponseController(c.Writer)
	var deadlineMu sync.Mutex
	progress := func() {
		deadlineMu.Lock()
		defer deadlineMu.Unlock()
		_ = rc.SetWriteDeadline(time.Now().Add(batchIdle)) // no deadline to move in tests
	}
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(batchConcurrency, len(order)) {
		wg.Go(func() {
			for idx := range work {
				for _, i := range idx {
					responses[i], results[i] = h.ingestItem(c, *events[i])
					progress()
				}
			}
		})
	}
	for _, cust := range order {
		work <- byCustomer[cust]
	}
	close(work)
	wg.Wait()
	for i, ev := range events {
		switch {
		case ev == nil: // refused before it ran
		case results[i] != nil:
			h.batchError(c, &items[i], results[i])
		default:
			items[i].Status, items[i].Result = http.StatusAccepted, &responses[i]
		}
	}
	c.JSON(http.StatusOK, gin.H{"results": items})
}

// ingestItem ingests one event of a batch. It runs on a goroutine of
// its own, outside gin's recovery: a panic becomes this item's 500.
func (h *handlers) ingestItem(c *gin.Context, ev EventRequest) (resp EventResponse, err error) {
	defer errs.Recover(&err)
	return h.App.Ingest(c.Request.Context(), ev)
}

// batchConcurrency is how many customers' events a batch processes at
// once: 1,000 purchases finish well inside the request's timeout.
const batchConcurrency = 8

// batchError records an item's error as it would have been answered alone.
func (h *handlers) batchError(c *gin.Context, item *BatchItem, err error) {
	e, _ := errs.As(err)
	if e == nil || e.Code == errs.Internal {
		h.Logger.Error("batch event failed", "index", item.Index, "err", err)
		e = errs.E(errs.Internal, "internal error")
	}
	item.Status = statusFor(e.Code)
	if item.Status >= 500 {
		c.Set(ctxKeyNotReplayable, true) // an Idempotency-Key retry must run this item again
	}
	item.Error = &ErrorDetail{Code: string(e.Code), Field: prefixField(item.Index, e.Field), Message: e.Message}
}

func prefixField(i int, field string) string {
	if field == "" {
		return fmt.Sprintf("events[%d]", i)
	}
	return fmt.Sprintf("events[%d].%s", i, field)
}
