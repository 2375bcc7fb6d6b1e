// Package activities holds the side effects of Lift's workflows, one file
// per family: enrolment records, eligibility, preparing a step's message,
// rendering, sending, conversions, the inactivity watcher, experiments and
// recommendations. The rules themselves live in the application layer
// (internal/app); an activity is the durable step that applies one.
//
// Activities return plain coded errors (internal/errs). Whether Temporal
// retries one is decided in one place, Classify, which the worker installs
// as an interceptor: a bad input can never be retried forever because an
// activity forgot to wrap it.
package activities

import (
	"time"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/models"
)

// Activities carries what the activities need. Build it once per worker.
type Activities struct {
	App    *app.App
	Store  *models.Store
	Mailer delivery.Mailer
	Now    func() time.Time // default time.Now
	// ReconcileAfter is how long Send waits for a provider's confirmation
	// of an ambiguous attempt before it sends again.
	ReconcileAfter time.Duration
	// Caps are the frequency caps across all of a customer's sequences,
	// in real days; they scale with a compressed sequence day.
	Caps []models.Cap
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}
