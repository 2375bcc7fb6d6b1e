package app

import (
	"context"
	"fmt"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// quietPage is how many quiet customers the scan reads at a time.
const quietPage = 500

// QuietScan counts what one re-engagement scan did.
type QuietScan struct {
	// Campaigns is how many live inactivity campaigns were scanned.
	Campaigns int `json:"campaigns"`
	// Considered is how many customers had gone quiet long enough and
	// were not in the campaign yet; Started how many entered it, Skipped
	// how many the gate kept out (filter, re-entry rule, upsell pause).
	Considered int `json:"considered"`
	Started    int `json:"started"`
	Skipped    int `json:"skipped"`
}

// StartQuiet starts re-engagement campaigns for the customers who have
// gone quiet: for each live inactivity campaign, the customers whose
// latest event is older than the campaign's "after" (one range query on
// customer_activity, a page at a time), within the campaign's entry
// window of that moment, and who have not entered the campaign since.
// The same gate as event triggers decides (where filters on customer
// attributes, the upsell pause, re-entry rules); sequences start with the
// usual workflow IDs, so a customer already in the campaign is left
// alone. It replaces a watcher workflow per customer: a periodic scan
// (workflows.DormancyWorkflow) calls it. progress is called after each
// page, for heartbeats.
//
// The entry window bounds the scan: a customer whose quiet spell reached
// "after" longer ago than the window (the campaign was published later,
// or the workers were down) is not mailed about a visit long past, as an
// old event enrols no one.
func (a *App) StartQuiet(ctx context.Context, progress func(QuietScan)) (QuietScan, error) {
	var scan QuietScan
	live, err := a.defs.Live(ctx, campaign.TriggerInactivity)
	if err != nil {
		return scan, err
	}
	now := a.now()
	for _, lv := range live {
		if lv.Paused != "" {
			continue // a paused campaign takes no one
		}
		scan.Campaigns++
		if err := a.startQuiet(ctx, lv.Definition, lv.Version, now, &scan, progress); err != nil {
			return scan, err
		}
	}
	return scan, nil
}

func (a *App) startQuiet(ctx context.Context, def *campaign.Definition, version int, now time.Time, scan *QuietScan, progress func(QuietScan)) error {
	after, err := campaign.ParseOffset(def.Trigger.After)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", def.ID, err)
	}
	to := now.Add(-workflows.Scale(after, a.Settings.Day))
	from := to.Add(-def.EntryWindow())
	last := ""
	for {
		custs, err := a.Store.QuietCustomers(ctx, def.ID, from, to, last, quietPage)
		if err != nil {
			return err
		}
		for i := range custs {
			cust := &custs[i]
			scan.Considered++
			started, err := a.startQuietOne(ctx, def, version, cust, now)
			if err != nil {
				return err
			}
			if started {
				scan.Started++
			} else {
				scan.Skipped++
			}
		}
		if progress != nil {
			progress(*scan)
		}
		if len(custs) < quietPage {
			return nil
		}
		last = custs[len(custs)-1].ID
	}
}

func (a *App) startQuietOne(ctx context.Context, def *campaign.Definition, version int, cust *models.Customer, now time.Time) (bool, error) {
	facts := customerFacts(cust)
	if err := a.addOrderFacts(ctx, []LiveVersion{{Version: version, Definition: def}}, cust.ID, facts); err != nil {
		return false, err
	}
	v, err := a.gate(ctx, entry{def: def, customer: cust, facts: facts, now: now, day: a.Settings.Day})
	if err != nil || !v.matched || v.blocked != "" {
		return false, err
	}
	in := a.sequenceInput(def, version, v.routing, cust, "", now)
	summary := fmt.Sprintf("%s v%d · customer %s · variant %s · inactivity", def.Name, version, cust.ID, in.Variant)
	started, err := a.Sequences.Start(ctx, in, summary)
	if err != nil || !started {
		return false, err
	}
	a.countEnrolment(def.ID)
	// Recorded now, so the next scan does not consider the customer again
	// before the workflow's first activity records it (idempotently).
	return true, a.Store.EnsureEnrollment(ctx, &models.Enrollment{
		ID: in.EnrollmentID, CustomerID: cust.ID, CampaignID: def.ID, Version: version,
		WorkflowID: workflows.SequenceWorkflowID(def.ID, cust.ID), Variant: in.Variant,
		Status: domain.StatusRunning, EnrolledAt: in.EnrolledAt,
	})
}
