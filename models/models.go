// Package models holds Lift's persistence: GORM models, the Store and its
// migrations. It runs on PostgreSQL in production and SQLite as the embedded
// default; the same store tests run on both. Nothing here knows about HTTP.
package models

import (
	"time"

	"github.com/lift-hq/lift/internal/domain"
)

// Customer is a person Lift may email. ID is the caller's external ID.
type Customer struct {
	ID            string              `gorm:"primaryKey;size:128"`
	Email         string              `gorm:"size:320;not null"`
	Name          string              `gorm:"size:200"`
	Timezone      string              `gorm:"size:64;not null;default:UTC"` // IANA name
	Locale        string              `gorm:"size:35;not null;default:en"`
	Consent       bool                `gorm:"not null;default:false"` // marketing consent
	ConsentBasis  domain.ConsentBasis `gorm:"size:16"`                // explicit or soft_opt_in, while Consent
	ConsentAt     *time.Time
	ConsentSource string `gorm:"size:200"`
	Country       string `gorm:"size:2"`  // ISO 3166-1 alpha-2, for consent rules
	Tier          string `gorm:"size:64"` // current plan tier, for upsell ladders
	// Phone is the customer's mobile number in E.164 (+4915123456789),
	// for SMS. SMSConsent is consent to texts, a record of its own: never
	// inferred from email consent, never a soft opt-in.
	Phone            string     `gorm:"size:20"`
	SMSConsent       bool       `gorm:"column:sms_consent;not null;default:false"`
	SMSConsentAt     *time.Time `gorm:"column:sms_consent_at"`
	SMSConsentSource string     `gorm:"column:sms_consent_source;size:200"`
	// UpsellsPausedUntil: no upsell starts before then (a support ticket or
	// complaint pauses them).
	UpsellsPausedUntil *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// CustomerActivity is when a customer's latest event happened: the
// re-engagement scan finds quiet customers with one range query on it,
// instead of a standing workflow per customer. Every recorded event moves
// it forward (never back); imports do not, as they record no event.
type CustomerActivity struct {
	CustomerID  string    `gorm:"primaryKey;size:128"`
	LastEventAt time.Time `gorm:"not null;index"`
}

// TableName keeps the table's name singular, like the idea it holds.
func (CustomerActivity) TableName() string { return "customer_activity" }

// ConsentRecord is one change of a customer's marketing consent, kept as
// proof: granted or withdrawn, on what basis, when, where, under which
// wording, from which IP and user agent.
type ConsentRecord struct {
	ID         uint   `gorm:"primaryKey"`
	CustomerID string `gorm:"size:128;not null;index"`
	// Channel is what the consent is to: email (marketing_consent) or sms.
	Channel        string              `gorm:"size:8;not null;default:email"`
	Granted        bool                `gorm:"not null"`
	Basis          domain.ConsentBasis `gorm:"size:16"`
	Source         string              `gorm:"size:200"`
	WordingVersion string              `gorm:"size:64"`
	IP             string              `gorm:"size:45"`
	UserAgent      string              `gorm:"size:500"`
	At             time.Time
}

// Product is a catalogue entry. Prices are in minor units (cents).
type Product struct {
	SKU         string   `gorm:"primaryKey;column:sku;size:128"`
	Name        string   `gorm:"size:300;not null"`
	Category    string   `gorm:"size:128;index"`
	PriceMinor  int64    `gorm:"not null;default:0"`
	Currency    string   `gorm:"size:3;not null;default:USD"`
	URL         string   `gorm:"size:2048"`
	ImageURL    string   `gorm:"size:2048"`
	InStock     bool     `gorm:"not null"`                  // no default: GORM would skip an explicit false
	Complements []string `gorm:"serializer:json;type:text"` // manual affinity rules, SKUs
	// Regions lists the countries (ISO 3166-1 alpha-2) the product suits;
	// empty means everywhere. No winter gear to customers in the tropics.
	Regions []string `gorm:"serializer:json;type:text"`
	// Seasons (winter, spring, summer, autumn) the product suits; empty
	// means all year. Judged where the customer lives, at send time.
	Seasons []string `gorm:"serializer:json;type:text"`
	// Social proof shown with the product.
	Rating      float64 `gorm:"not null;default:0"` // average, 0 to 5; 0: none
	Reviews     int     `gorm:"not null;default:0"`
	Testimonial string  `gorm:"size:300"`
	// Upsell ladders: plans (or editions) of one category carry a rank
	// (1, 2, 3 …; 0: not on a ladder) and the features a comparison shows.
	TierRank  int      `gorm:"not null;default:0"`
	Features  []string `gorm:"serializer:json;type:text"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Event is a customer event as received, kept for audit and for the
// trigger data emails are rendered with.
type Event struct {
	ID         string         `gorm:"primaryKey;size:128"`
	Type       string         `gorm:"size:32;not null;index:idx_event_views"`
	CustomerID string         `gorm:"size:128;not null;index;index:idx_event_views"`
	SKU        string         `gorm:"column:sku;size:128;index:idx_event_views"` // the "sku" property, for counting views
	OccurredAt time.Time      `gorm:"not null"`
	Properties map[string]any `gorm:"serializer:json;type:text"`
	CreatedAt  time.Time
}

// Order is a purchase, created from a purchase event.
type Order struct {
	ID           string `gorm:"primaryKey;size:128"`
	CustomerID   string `gorm:"size:128;not null;index"`
	EventID      string `gorm:"size:128"`
	RevenueMinor int64  `gorm:"not null;default:0"`
	Currency     string `gorm:"size:3;not null"`
	OccurredAt   time.Time
	Items        []OrderItem `gorm:"foreignKey:OrderID;constraint:OnDelete:CASCADE"`
	CreatedAt    time.Time
}

// OrderItem is one line of an Order.
type OrderItem struct {
	ID         uint   `gorm:"primaryKey"`
	OrderID    string `gorm:"size:128;not null;index;uniqueIndex:idx_order_item"` // one line per SKU
	SKU        string `gorm:"column:sku;size:128;not null;index;uniqueIndex:idx_order_item"`
	Quantity   int    `gorm:"not null"`
	PriceMinor int64  `gorm:"not null"`
}

// Campaign is a sequence definition marketers edit. Definition is the
// current draft as JSON; publishing snapshots it into a CampaignVersion.
type Campaign struct {
	ID            string                `gorm:"primaryKey;size:64"`
	Name          string                `gorm:"size:200;not null"`
	Kind          string                `gorm:"size:32;not null"`
	TriggerEvent  string                `gorm:"size:32;not null;index"`
	Definition    []byte                `gorm:"not null"`
	Status        domain.CampaignStatus `gorm:"size:16;not null;default:draft"`
	LatestVersion int                   `gorm:"not null;default:0"`
	// PausedAt is set while a marketer has paused the whole campaign: it
	// takes no enrolments and its sends wait; PausedReason says why.
	PausedAt     *time.Time
	PausedReason string `gorm:"size:300"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CampaignVersion is an immutable, published snapshot of a Campaign.
// A running sequence keeps the version it started with.
type CampaignVersion struct {
	CampaignID   string `gorm:"primaryKey;size:64"`
	Version      int    `gorm:"primaryKey"`
	TriggerEvent string `gorm:"size:32;not null;index"` // as published; the draft's may differ
	Definition   []byte `gorm:"not null"`
	PublishedAt  time.Time
	// PausedReason is the campaign's pause reason, read with the live
	// versions (LiveVersions); not a column of this table.
	PausedReason string `gorm:"->;-:migration"`
}

// Enrollment is one customer in one campaign version: one sequence workflow.
type Enrollment struct {
	ID             string                `gorm:"primaryKey;size:64"`
	CustomerID     string                `gorm:"size:128;not null;index:idx_enrollment_customer"`
	CampaignID     string                `gorm:"size:64;not null;index:idx_enrollment_customer;index:idx_enrollment_campaign,priority:1"`
	Version        int                   `gorm:"not null"`
	WorkflowID     string                `gorm:"size:300;not null;index"`
	Variant        string                `gorm:"size:64;not null"`
	TriggerEventID string                `gorm:"size:128"`
	EntryKey       string                `gorm:"size:300"` // the campaign's re-entry key values
	Status         domain.SequenceStatus `gorm:"size:16;not null;index"`
	ExitReason     string                `gorm:"size:300"`
	CurrentStep    string                `gorm:"size:64"`
	EmailsSent     int                   `gorm:"not null;default:0"`
	ConvertedOrder string                `gorm:"size:128"`
	RevenueMinor   int64                 `gorm:"not null;default:0"`
	EnrolledAt     time.Time             `gorm:"index:idx_enrollment_campaign,priority:2"` // reports read a campaign's enrolments by period
	EndedAt        *time.Time
	// PausedAt is set while an operator has paused the journey: the step
	// activity holds a send the pause overtook.
	PausedAt *time.Time
	// PromotedTo and Steps are kept when the sequence ends: the winner a
	// promotion moved it to, and each step's final state and reason, so
	// "why didn't they get email N?" has an answer once the workflow
	// (and its history) is gone.
	PromotedTo string             `gorm:"size:64"`
	Steps      []domain.StepState `gorm:"serializer:json;type:text"`
	UpdatedAt  time.Time
}

// Message is one email of one step of one enrollment. IdempotencyKey is
// "<enrollment>/<step>" and unique: this is what makes a send happen at most
// once per step.
type Message struct {
	ID             string               `gorm:"primaryKey;size:64"`
	IdempotencyKey string               `gorm:"size:200;not null;uniqueIndex"`
	EnrollmentID   string               `gorm:"size:64;not null;index"`
	StepID         string               `gorm:"size:64;not null"`
	CustomerID     string               `gorm:"size:128;not null;index"`
	CampaignID     string               `gorm:"size:64;not null;index"`
	Variant        string               `gorm:"size:64;not null"`
	Status         domain.MessageStatus `gorm:"size:16;not null"`
	Recommended    []string             `gorm:"serializer:json;type:text"` // SKUs
	// Reasons says why each recommended product was chosen; RecommendNote
	// records a fallback (e.g. too little history for bought_together).
	Reasons       map[string]string `gorm:"serializer:json;type:text"`
	RecommendNote string            `gorm:"size:300"`
	// Strategy is the strategy that answered (after any fallback): the
	// report shows each step's mix.
	Strategy string `gorm:"size:32"`
	// Channel is how the message goes: email ("" in rows from before SMS)
	// or sms.
	Channel           string            `gorm:"size:8"`
	Subject           string            `gorm:"size:998"`
	Preheader         string            `gorm:"size:300"`
	HTML              string            `gorm:"type:text"`
	Text              string            `gorm:"type:text"`
	Headers           map[string]string `gorm:"serializer:json;type:text"` // e.g. List-Unsubscribe
	Provider          string            `gorm:"size:32"`
	ProviderMessageID string            `gorm:"size:200;index"`
	Error             string            `gorm:"size:1000"`
	SendingAt         *time.Time        `gorm:"index"` // when the mailer was last called
	SentAt            *time.Time
	// ConfirmedAt is when Lift received SendGrid's first event about the
	// message: proof that SendGrid has it, and that the event webhook
	// delivered it. An ambiguous send is repeated only when later sends
	// were confirmed and it was not.
	ConfirmedAt *time.Time
	Delivery    string     `gorm:"size:16"` // delivered, deferred, bounced, dropped (from SendGrid events)
	OpenedAt    *time.Time // first human open (machine opens excluded)
	ClickedAt   *time.Time
	// UnsubscribedAt and ComplainedAt credit an unsubscribe or a spam
	// report to the email that prompted it: the message SendGrid's event
	// names, or the customer's latest email in the scope they left from
	// Lift's own page. Experiment guardrails count them.
	UnsubscribedAt *time.Time
	ComplainedAt   *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// MessageKey is the idempotency key of a step's message.
func MessageKey(enrollmentID, stepID string) string { return enrollmentID + "/" + stepID }

// Suppression stops email to an address, everywhere (CampaignID empty) or
// for one campaign. Only the SHA-256 of the normalised address is kept, so
// the list can outlive an erased customer without holding their address.
type Suppression struct {
	ID         uint                     `gorm:"primaryKey"`
	EmailHash  string                   `gorm:"size:64;not null;uniqueIndex:idx_suppression"`
	CampaignID string                   `gorm:"size:64;not null;default:'';uniqueIndex:idx_suppression"`
	Reason     domain.SuppressionReason `gorm:"size:32;not null"`
	CreatedAt  time.Time
}

// Scope reports the suppression's scope.
func (s Suppression) Scope() string {
	if s.CampaignID == "" {
		return domain.ScopeGlobal
	}
	return domain.ScopeCampaign
}

// APIKey is a credential for the HTTP API, with the scopes it may act in.
// Only the SHA-256 of the key is stored.
type APIKey struct {
	ID uint `gorm:"primaryKey"`
	// KeyID is the key's public name ("key_…"), shown in lists and the
	// audit log; the key itself is shown once, when it is created.
	KeyID      string            `gorm:"size:32;uniqueIndex"`
	Name       string            `gorm:"size:100;not null"`
	Hash       []byte            `gorm:"not null;uniqueIndex"`
	Scopes     []domain.KeyScope `gorm:"serializer:json;type:text"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time // a revoked key stays listed, and works no more
}

// SendSlot is one marketing email counted against a customer's frequency
// caps, reserved before the mailer is called. MessageID is unique, so a
// retried send reuses its slot.
type SendSlot struct {
	ID         uint      `gorm:"primaryKey"`
	CustomerID string    `gorm:"size:128;not null;index:idx_slot_customer_at"`
	MessageID  string    `gorm:"size:64;not null;uniqueIndex"`
	At         time.Time `gorm:"not null;index:idx_slot_customer_at"`
}

// IdempotencyRecord remembers a POST made with an Idempotency-Key: the
// request's fingerprint and, once answered, the response, so a retry gets
// the first answer. Keys are scoped to the API key that used them.
type IdempotencyRecord struct {
	ID          uint   `gorm:"primaryKey"`
	Scope       string `gorm:"size:64;not null;uniqueIndex:idx_idempotency"`
	Key         string `gorm:"column:idem_key;size:255;not null;uniqueIndex:idx_idempotency"`
	Fingerprint string `gorm:"size:64;not null"`
	Status      int    `gorm:"not null;default:0"` // 0 while the first request is in flight
	ContentType string `gorm:"size:100"`
	Body        []byte
	CreatedAt   time.Time `gorm:"index"`
}

// IdempotencySubject names a customer an Idempotency-Key's stored
// response is about, so erasing the customer erases the response too.
type IdempotencySubject struct {
	RecordID   uint   `gorm:"primaryKey"`
	CustomerID string `gorm:"primaryKey;size:128;index"`
}

// Conversion is a purchase (or upgrade) that ended an enrollment as
// converted, credited to the step whose email the customer last opened or
// clicked before it within the campaign's attribution window (StepID empty:
// no email was engaged with in time). Holdout enrollments convert too.
type Conversion struct {
	ID           uint   `gorm:"primaryKey"`
	EnrollmentID string `gorm:"size:64;not null;uniqueIndex:idx_conversion"`
	OrderID      string `gorm:"size:128;not null;uniqueIndex:idx_conversion"`
	CustomerID   string `gorm:"size:128;not null;index"`
	CampaignID   string `gorm:"size:64;not null;index"`
	Variant      string `gorm:"size:64;not null"`
	Goal         string `gorm:"size:32;not null"`
	RevenueMinor int64  `gorm:"not null"`
	Currency     string `gorm:"size:3"`
	StepID       string `gorm:"size:64"`
	MessageID    string `gorm:"size:64"`
	// LagSeconds is the time from the credited email's send to the
	// order (nil: no email credited).
	LagSeconds *int64
	OrderedAt  time.Time
	CreatedAt  time.Time
}

// Affinity is how often two products are bought together, computed from
// order history: Orders is the support (orders holding both), Confidence
// P(B|A) and Lift Confidence/P(B). Rebuilt as a whole; never written on the
// send path.
type Affinity struct {
	SKUA       string  `gorm:"column:sku_a;primaryKey;size:128"`
	SKUB       string  `gorm:"column:sku_b;primaryKey;size:128"`
	Orders     int64   `gorm:"not null"`
	Confidence float64 `gorm:"not null"`
	Lift       float64 `gorm:"not null"`
	// Score is bought_together's score of sku_b given sku_a: the
	// confidence shrunk toward sku_b's popularity (recs.shrunkConfidence).
	Score float64 `gorm:"not null;default:0"`
}

// ProductStat is one product's share of the order history at the last
// recommendation rebuild.
type ProductStat struct {
	SKU       string `gorm:"primaryKey;size:128"`
	Orders    int64  `gorm:"not null"`
	Customers int64  `gorm:"not null"`
}

// PopularProduct is a best seller at the last rebuild: its rank in a
// window (days; 0 is all time) and category ("" for every category).
type PopularProduct struct {
	WindowDays int    `gorm:"primaryKey"`
	Category   string `gorm:"primaryKey;size:128"`
	Rank       int    `gorm:"primaryKey"`
	SKU        string `gorm:"size:128;not null"`
	Orders     int64  `gorm:"not null"`
}

// RecsState is the recommendation rebuild's one row: whether one runs
// (a lease, so two never overlap), how the last one went, the model's
// stats and evaluation (JSON, as the recs package writes them) and what
// auto stands for.
type RecsState struct {
	ID         int        `gorm:"primaryKey"`
	State      string     `gorm:"size:16;not null;default:idle"` // idle, running, failed
	LeaseUntil *time.Time // a running rebuild holds the lease until then
	StartedAt  *time.Time
	FinishedAt *time.Time
	BuiltAt    *time.Time // the model in the tables was built then
	TookMS     int64
	Error      string `gorm:"size:1000"`
	Model      []byte // recs.Stats
	Evaluation []byte // recs.Report
	Auto       string `gorm:"size:32"`
	AutoReason string `gorm:"size:1000"`
}

// ItemSimilarity is how alike two products' buyers are, for
// similar_customers: the cosine of their purchase vectors (one dimension
// per customer, 1 when the customer bought the product), i.e. customers
// who bought both over the square root of the product of each one's
// buyers. Stored both ways.
type ItemSimilarity struct {
	SKUA      string  `gorm:"column:sku_a;primaryKey;size:128"`
	SKUB      string  `gorm:"column:sku_b;primaryKey;size:128"`
	Customers int64   `gorm:"not null"` // customers who bought both
	Score     float64 `gorm:"not null"` // cosine similarity, 0 to 1
}

// WebhookEvent is a SendGrid event already applied. SendGrid retries
// failed deliveries for 24 hours, so events arrive twice and out of order:
// the unique sg_event_id makes applying one idempotent.
type WebhookEvent struct {
	SGEventID string `gorm:"column:sg_event_id;primaryKey;size:128"`
	MessageID string `gorm:"size:64;index"`
	Type      string `gorm:"size:32;not null"`
	At        time.Time
	CreatedAt time.Time
}

// all lists every model, in migration order.
func all() []any {
	return []any{
		&Customer{}, &ConsentRecord{}, &Product{}, &Event{}, &Order{}, &OrderItem{},
		&Campaign{}, &CampaignVersion{}, &Enrollment{}, &Message{},
		&Suppression{}, &APIKey{}, &SendSlot{}, &IdempotencyRecord{}, &WebhookEvent{}, &Conversion{}, &Affinity{}, &ItemSimilarity{},
		&Experiment{}, &DataMigration{}, &IdempotencySubject{}, &AuditEntry{},
		&ConsoleSession{}, &SignInFailure{}, &WebhookRefusal{}, &InstallSecret{}, &CustomerActivity{}, &CouponCode{},
		&Destination{}, &WebhookDelivery{}, &ProductStat{}, &PopularProduct{}, &RecsState{},
		&HeldEvent{},
	}
}

// CouponCode is one code of a pool: unused until a step's message draws
// it (once: a code is never issued twice), with the expiry it was issued
// with.
type CouponCode struct {
	PoolID    string  `gorm:"primaryKey;size:64"`
	Code      string  `gorm:"primaryKey;size:64;index"`
	MessageID *string `gorm:"size:64;uniqueIndex"`
	IssuedAt  *time.Time
	ExpiresAt *time.Time
	CreatedAt time.Time
}

// Experiment is the state of a campaign version's experiment: whether
// it splits enrolments, how a winner is judged, which variants and steps
// its guardrails paused, and the winner once promoted. The variants
// themselves are in the version's definition.
type Experiment struct {
	CampaignID string                  `gorm:"primaryKey;size:64"`
	ID         string                  `gorm:"primaryKey;size:64"`
	Version    int                     `gorm:"not null"`
	Status     domain.ExperimentStatus `gorm:"size:16;not null"`
	// Metric is conversion_rate or revenue_per_recipient.
	Metric      string  `gorm:"size:32;not null"`
	MinSends    int     `gorm:"not null"`
	Alpha       float64 `gorm:"not null"`
	AutoPromote bool    `gorm:"not null;default:false"`
	// MoveRunning moves running enrolments to the winner when it is
	// promoted (automatically or by hand without saying otherwise).
	MoveRunning bool `gorm:"not null;default:false"`
	// GuardrailMinSends is the sends a variant or step needs before its
	// unsubscribe and complaint rates can pause it.
	GuardrailMinSends int    `gorm:"not null"`
	Winner            string `gorm:"size:64"`
	// PValues is each treatment's always-valid p-value against the
	// control: the running minimum over the daily checks.
	PValues map[string]float64 `gorm:"serializer:json;type:text"`
	// Paused maps "variant" or "variant/step" to why a guardrail paused it;
	// Resumed holds the keys a person resumed (with when), which the
	// guardrails then leave alone.
	Paused  map[string]string `gorm:"serializer:json;type:text"`
	Resumed map[string]string `gorm:"serializer:json;type:text"`
	// MovePending is set when a promotion should move running enrolments
	// to the winner and has not finished doing so; the daily check
	// retries it.
	MovePending   bool `gorm:"not null;default:false"`
	StartedAt     time.Time
	EndedAt       *time.Time
	LastCheckedAt *time.Time
	UpdatedAt     time.Time
}

// PausedKey is the Paused key of a variant (step "") or of one of its steps.
func PausedKey(variant, step string) string {
	if step == "" {
		return variant
	}
	return variant + "/" + step
}

// Destination is where a flow's webhook steps post: a URL and the secret
// the requests are signed with (HMAC-SHA256; kept to sign, never shown
// again). Channel says the destination reaches the customer (sms, push,
// whatsapp): consent, suppression, frequency caps and quiet hours then
// apply to its steps as to an email. IncludeEmail puts the customer's
// address in the body; without it the body names the customer by ID.
type Destination struct {
	ID           string `gorm:"primaryKey;size:64"`
	URL          string `gorm:"size:2048;not null"`
	Secret       string `gorm:"size:256;not null"`
	Channel      string `gorm:"size:32"`
	IncludeEmail bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// WebhookDelivery is a webhook step's delivery for one enrolment: its
// attempts and, once the destination accepted it (a 2xx), when. A step
// is delivered at most once: a retried or resumed step finds it here.
type WebhookDelivery struct {
	EnrollmentID  string `gorm:"primaryKey;size:64"`
	StepID        string `gorm:"primaryKey;size:64"`
	DestinationID string `gorm:"size:64;not null"`
	Attempts      int    `gorm:"not null;default:0"`
	LastStatus    int    // the last attempt's HTTP status, 0 when it got none
	LastError     string `gorm:"size:512"`
	DeliveredAt   *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}
