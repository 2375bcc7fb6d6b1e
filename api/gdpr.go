package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/money"
)

// eraseCustomer is GDPR erasure; see app.EraseCustomer.
func (h *handlers) eraseCustomer(c *gin.Context) {
	id := c.Param("id")
	cancelled, err := h.App.EraseCustomer(c.Request.Context(), id)
	if err != nil {
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
	x, err := h.App.ExportCustomer(c.Request.Context(), c.Param("id"))
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
		oo := OrderOut{ID: o.ID, Revenue: money.ToMajor(o.RevenueMinor, o.Currency), Currency: o.Currency, OccurredAt: o.OccurredAt, Items: []OrderItemOut{}}
		for _, it := range o.Items {
			oo.Items = append(oo.Items, OrderItemOut{SKU: it.SKU, Quantity: it.Quantity, Price: money.ToMajor(it.PriceMinor, o.Currency)})
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
