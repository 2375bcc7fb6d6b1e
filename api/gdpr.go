package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/workflows"
)

// eraseCustomer is GDPR erasure: it suppresses the address (hashed, so it
// is never mailed again), cancels the customer's running sequences, and
// deletes their personal data.
func (h *handlers) eraseCustomer(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	cust, err := h.Store.GetCustomer(ctx, id)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	// Suppress first: a send already under way checks it before mailing.
	if err := h.Store.Suppress(ctx, cust.Email, "", domain.ReasonErased); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	cancelled := []string{}
	camps, err := h.Store.ListCampaigns(ctx)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	ids := []string{workflows.InactivityWorkflowID(id)}
	for _, camp := range camps {
		ids = append(ids, workflows.SequenceWorkflowID(camp.ID, id))
	}
	for _, wid := range ids {
		err := h.Sequences.Cancel(ctx, wid)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		cancelled = append(cancelled, wid)
	}
	if err := h.Store.EraseCustomer(ctx, id); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"customer_id": id, "erased": true, "cancelled": cancelled})
}

// ExportResponse is everything Lift holds about a customer.
type ExportResponse struct {
	Customer       CustomerResponse   `json:"customer"`
	ConsentRecords []ConsentRecordOut `json:"consent_records"`
	Events         []EventOut         `json:"events"`
	Orders         []OrderOut         `json:"orders"`
	Enrollments    []EnrollmentOut    `json:"enrollments"`
	Messages       []MessageExport    `json:"messages"`
	Suppressions   []SuppressionOut   `json:"suppressions"`
}

// ConsentRecordOut is one consent change.
type ConsentRecordOut struct {
	Granted        bool                `json:"granted"`
	Basis          domain.ConsentBasis `json:"basis,omitempty"`
	Source         string              `json:"source,omitempty"`
	WordingVersion string              `json:"wording_version,omitempty"`
	IP             string              `json:"ip,omitempty"`
	UserAgent      string              `json:"user_agent,omitempty"`
	At             time.Time           `json:"at"`
}

// EventOut is a stored event.
type EventOut struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	OccurredAt time.Time      `json:"occurred_at"`
	Properties map[string]any `json:"properties"`
}

// OrderOut is a stored order.
type OrderOut struct {
	ID         string         `json:"id"`
	Revenue    float64        `json:"revenue"`
	Currency   string         `json:"currency"`
	OccurredAt time.Time      `json:"occurred_at"`
	Items      []OrderItemOut `json:"items"`
}

// OrderItemOut is one line of an order.
type OrderItemOut struct {
	SKU      string  `json:"sku"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

// EnrollmentOut is one enrollment.
type EnrollmentOut struct {
	ID         string                `json:"id"`
	CampaignID string                `json:"campaign_id"`
	Version    int                   `json:"version"`
	Variant    string                `json:"variant"`
	Status     domain.SequenceStatus `json:"status"`
	ExitReason string                `json:"exit_reason,omitempty"`
	EmailsSent int                   `json:"emails_sent"`
	EnrolledAt time.Time             `json:"enrolled_at"`
	EndedAt    *time.Time            `json:"ended_at,omitempty"`
}

// MessageExport is a message with every body.
type MessageExport struct {
	MessageDetail
	HTML string `json:"html,omitempty"`
}

// SuppressionOut is a suppression of the customer's address.
type SuppressionOut struct {
	Scope      string                   `json:"scope"`
	CampaignID string                   `json:"campaign_id,omitempty"`
	Reason     domain.SuppressionReason `json:"reason"`
	CreatedAt  time.Time                `json:"created_at"`
}

// exportCustomer returns everything held about the customer (GDPR access).
func (h *handlers) exportCustomer(c *gin.Context) {
	x, err := h.Store.ExportCustomer(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	out := ExportResponse{Customer: customerResponse(&x.Customer),
		ConsentRecords: []ConsentRecordOut{}, Events: []EventOut{}, Orders: []OrderOut{},
		Enrollments: []EnrollmentOut{}, Messages: []MessageExport{}, Suppressions: []SuppressionOut{}}
	for _, r := range x.ConsentRecords {
		out.ConsentRecords = append(out.ConsentRecords, ConsentRecordOut{Granted: r.Granted, Basis: r.Basis, Source: r.Source,
			WordingVersion: r.WordingVersion, IP: r.IP, UserAgent: r.UserAgent, At: r.At})
	}
	for _, e := range x.Events {
		out.Events = append(out.Events, EventOut{ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, Properties: e.Properties})
	}
	for _, o := range x.Orders {
		oo := OrderOut{ID: o.ID, Revenue: float64(o.RevenueMinor) / 100, Currency: o.Currency, OccurredAt: o.OccurredAt, Items: []OrderItemOut{}}
		for _, it := range o.Items {
			oo.Items = append(oo.Items, OrderItemOut{SKU: it.SKU, Quantity: it.Quantity, Price: float64(it.PriceMinor) / 100})
		}
		out.Orders = append(out.Orders, oo)
	}
	for _, e := range x.Enrollments {
		out.Enrollments = append(out.Enrollments, EnrollmentOut{ID: e.ID, CampaignID: e.CampaignID, Version: e.Version,
			Variant: e.Variant, Status: e.Status, ExitReason: e.ExitReason, EmailsSent: e.EmailsSent,
			EnrolledAt: e.EnrolledAt, EndedAt: e.EndedAt})
	}
	for i := range x.Messages {
		m := &x.Messages[i]
		out.Messages = append(out.Messages, MessageExport{MessageDetail: messageDetail(m), HTML: m.HTML})
	}
	for _, s := range x.Suppressions {
		out.Suppressions = append(out.Suppressions, SuppressionOut{Scope: s.Scope(), CampaignID: s.CampaignID, Reason: s.Reason, CreatedAt: s.CreatedAt})
	}
	c.JSON(http.StatusOK, out)
}
