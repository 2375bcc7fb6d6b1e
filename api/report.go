package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
)

// ReportResponse is GET /v1/campaigns/{id}/report.
type ReportResponse = app.Report

func (h *handlers) campaignReport(c *gin.Context) {
	ctx := c.Request.Context()
	p, err := h.period(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	r, err := h.App.Report(ctx, c.Param("id"), p)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if wantsCSV(c) {
		writeReportCSV(c, r)
		return
	}
	c.JSON(http.StatusOK, r)
}

// period reads the query's version, from and to; see app.ReportPeriod.
func (h *handlers) period(c *gin.Context) (app.Period, error) {
	return h.App.ReportPeriod(c.Request.Context(), c.Param("id"), c.Query("version"), c.Query("from"), c.Query("to"))
}

// wantsCSV reports whether the client asked for CSV (Accept: text/csv).
func wantsCSV(c *gin.Context) bool {
	return c.NegotiateFormat(gin.MIMEJSON, "text/csv") == "text/csv"
}

// writeReportCSV writes the report as one table: a row per variant
// (level "variant") and per variant and step (level "step").
func writeReportCSV(c *gin.Context, r app.Report) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-report.csv"`, r.CampaignID))
	w := csv.NewWriter(c.Writer)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	i := func(x int64) string { return strconv.FormatInt(x, 10) }
	_ = w.Write([]string{"level", "variant", "step", "enrolled", "sent", "delivered", "unique_opens", "unique_clicks",
		"click_to_open_rate", "conversions", "conversion_rate", "revenue", "revenue_per_recipient", "revenue_per_email",
		"bounce_rate", "unsubscribe_rate", "complaint_rate", "share_of_sequence_revenue", "trim_candidate",
		"conversion_lift_vs_holdout", "lift_low", "lift_high", "incremental_conversions", "incremental_revenue"})
	for _, v := range r.Variants {
		row := []string{"variant", csvText(v.Variant), "", i(v.Enrolled), i(v.Sent), i(v.Delivered), "", "", "", i(v.Converted),
			f(v.ConversionRate), f(v.Revenue), f(v.RevenuePerRecipient), "", f(v.BounceRate), f(v.UnsubscribeRate),
			f(v.ComplaintRate), "", "", "", "", "", "", ""}
		if v.LiftVsHoldout != nil {
			row[19], row[20], row[21] = f(v.LiftVsHoldout.Estimate), f(v.LiftVsHoldout.Low), f(v.LiftVsHoldout.High)
			row[22], row[23] = f(*v.IncrementalConv), f(v.IncrementalRevenue.Estimate)
		}
		_ = w.Write(row)
	}
	for _, s := range r.Steps {
		_ = w.Write([]string{"step", csvText(s.Variant), csvText(s.Step), "", i(s.Sent), i(s.Delivered), i(s.Opens), i(s.Clicks),
			f(s.ClickToOpen), i(s.Conversions), f(s.ConversionRate), f(s.Revenue), "", f(s.RevenuePerEmail),
			f(s.BounceRate), f(s.UnsubscribeRate), f(s.ComplaintRate), f(s.ShareOfRevenue), strconv.FormatBool(s.TrimCandidate),
			"", "", "", "", ""})
	}
	w.Flush()
}

// openedNotConverted exports, as CSV, the customers who opened or
// clicked a step's email in the period and neither converted nor left;
// see app.OpenedNotConverted.
func (h *handlers) openedNotConverted(c *gin.Context) {
	p, err := h.period(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	w := csv.NewWriter(c.Writer)
	started := false
	// Rows go out in batches, each recorded in the audit log (the
	// campaign, then every customer in it) before it is written.
	var batch []app.SegmentRow
	subjects := []string{c.Param("id")}
	flush := func() error {
		for _, r := range batch {
			subjects = append(subjects, r.CustomerID)
		}
		slices.Sort(subjects)
		if err := h.record(c, app.AuditAudienceExport, slices.Compact(subjects)...); err != nil {
			return err
		}
		for _, r := range batch {
			if err := w.Write([]string{csvText(r.CustomerID), r.EmailSHA256, csvText(r.StepID), csvText(r.Variant), r.EngagedAt.Format(time.RFC3339)}); err != nil {
				return err
			}
		}
		batch, subjects = batch[:0], subjects[:0]
		return nil
	}
	err = h.App.OpenedNotConverted(c.Request.Context(), c.Param("id"), p, c.Query("step"), func(r app.SegmentRow) error {
		if !started {
			startSegmentCSV(c, w)
			started = true
		}
		batch = append(batch, r)
		if len(batch) < segmentAuditBatch {
			return nil
		}
		return flush()
	})
	if err == nil && started {
		err = flush()
	}
	switch {
	case err != nil && !started:
		writeError(c, h.Logger, err)
		return
	case err != nil:
		// Rows went out already: the status is sent, so end the CSV
		// visibly broken rather than silently short.
		h.Logger.Error("segment export failed", "err", err)
		_ = w.Write([]string{"# export failed; retry"})
	case !started:
		startSegmentCSV(c, w)
	}
	w.Flush()
}

// segmentAuditBatch is how many exported rows are recorded in the audit
// log at a time, before they are written.
const segmentAuditBatch = 500

// startSegmentCSV begins the segment CSV: headers and the column names.
func startSegmentCSV(c *gin.Context, w *csv.Writer) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-opened-not-converted.csv"`, c.Param("id")))
	_ = w.Write([]string{"customer_id", "email_sha256", "step", "variant", "engaged_at"})
}

// csvText makes a text cell safe to open in a spreadsheet (OWASP's CSV
// injection advice): a cell a spreadsheet would run as a formula starts
// with a quote. Numeric cells are written as numbers and left alone.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
