package models_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// eachEngine runs fn once per engine, with a maker of empty, unmigrated
// stores on it.
func eachEngine(t *testing.T, fn func(t *testing.T, empty func() *models.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, func() *models.Store { return open(t, filepath.Join(t.TempDir(), "lift.db")) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, func() *models.Store { return open(t, testdb.PostgresURL(t)) })
	})
}

func open(t *testing.T, dsn string) *models.Store {
	t.Helper()
	s, err := models.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// schemaOf describes a database's tables, columns and indexes, for
// comparing schemas made different ways.
func schemaOf(t *testing.T, s *models.Store) []string {
	t.Helper()
	var rows []string
	if s.DB().Name() == "sqlite" {
		require.NoError(t, s.DB().Raw(`SELECT type || ' ' || name || ': ' || sql FROM sqlite_master
			WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose%' ORDER BY type, name`).Scan(&rows).Error)
		return rows
	}
	require.NoError(t, s.DB().Raw(`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' ||
			coalesce(character_maximum_length::text, '') || ' ' || is_nullable || ' ' || coalesce(column_default, '')
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'goose%'
		ORDER BY table_name, column_name`).Scan(&rows).Error)
	var indexes []string
	require.NoError(t, s.DB().Raw(`SELECT replace(indexdef, current_schema() || '.', '') FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename NOT LIKE 'goose%' ORDER BY indexname`).Scan(&indexes).Error)
	return append(rows, indexes...)
}

// TestMigrationsMatchTheModels: the schema the SQL migrations make is the
// one the models describe (what GORM's AutoMigrate makes of them), on both
// engines, so a model change without its migration fails here.
func TestMigrationsMatchTheModels(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, empty func() *models.Store) {
		byMigrations, byModels := empty(), empty()
		require.NoError(t, byMigrations.Migrate(ctx))
		require.NoError(t, models.AutoMigrateLikeBefore(ctx, byModels))
		want := schemaOf(t, byModels)
		require.Greater(t, len(want), 30)
		require.Equal(t, want, schemaOf(t, byMigrations))
	})
}

// TestMigrateAdoptsADatabaseFromBefore: a database that Lift made before
// versioned migrations, with data in it, is brought to the head; the
// data is intact, and a second run changes nothing.
func TestMigrateAdoptsADatabaseFromBefore(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, empty func() *models.Store) {
		s := empty()
		require.NoError(t, models.AutoMigrateLikeBefore(ctx, s))
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		require.NoError(t, s.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "ada@example.com", Timezone: "Europe/London"}))
		require.NoError(t, s.RecordEvent(ctx, &models.Event{ID: "ev-1", Type: "purchase", CustomerID: "ada", OccurredAt: at},
			&models.Order{ID: "o-1", CustomerID: "ada", EventID: "ev-1", Currency: "USD", RevenueMinor: 89900, OccurredAt: at,
				Items: []models.OrderItem{{SKU: "cam", Quantity: 1, PriceMinor: 89900}}}))
		require.NoError(t, s.EnsureEnrollment(ctx, &models.Enrollment{ID: "e-1", CustomerID: "ada", CampaignID: "cam", Version: 1,
			WorkflowID: "seq/cam/ada", Variant: "A", Status: domain.StatusRunning, EnrolledAt: at}))
		before, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		require.Zero(t, before.Current, "no versions recorded before")

		require.NoError(t, s.Migrate(ctx))
		v, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, v.Head, v.Current)
		require.NoError(t, s.CheckSchema(ctx))
		c, err := s.GetCustomer(ctx, "ada")
		require.NoError(t, err)
		require.Equal(t, "ada@example.com", c.Email)
		var revenue int64
		require.NoError(t, s.DB().Model(&models.Order{}).Select("revenue_minor").Where("id = ?", "o-1").Scan(&revenue).Error)
		require.EqualValues(t, 89900, revenue)
		e, err := s.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.Equal(t, domain.StatusRunning, e.Status)

		require.NoError(t, s.Migrate(ctx), "idempotent")
	})
}

// TestRolesRefuseAnOlderSchema: the API and the worker check the schema's
// version before they start, and name both versions.
func TestRolesRefuseAnOlderSchema(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, empty func() *models.Store) {
		s := empty()
		require.ErrorContains(t, s.CheckSchema(ctx), "the database schema is at version 0 and this build needs 10: run `lift migrate` first")
		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.CheckSchema(ctx))
		v, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		require.NoError(t, s.DB().Exec("DELETE FROM goose_db_version WHERE version_id = ?", v.Head).Error)
		require.ErrorContains(t, s.CheckSchema(ctx), "needs 10")
	})
}

// TestPausedAtMigrationKeepsEnrollments: version 2 adds enrollments'
// paused_at (SQLite by rebuilding the table); the rows, and the one
// running enrollment per customer and campaign, survive it.
func TestPausedAtMigrationKeepsEnrollments(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, empty func() *models.Store) {
		s := empty()
		require.NoError(t, models.MigrateTo(ctx, s, 1))
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		require.NoError(t, s.DB().Exec(`INSERT INTO enrollments (id, customer_id, campaign_id, version, workflow_id, variant, status,
			emails_sent, revenue_minor, enrolled_at) VALUES ('e-1', 'ada', 'cam', 1, 'seq/cam/ada', 'A', 'running', 2, 0, ?)`, at).Error)
		require.NoError(t, s.Migrate(ctx))
		e, err := s.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.Equal(t, 2, e.EmailsSent)
		require.True(t, e.EnrolledAt.Equal(at))
		require.Nil(t, e.PausedAt)
		require.NoError(t, s.MarkEnrollmentPaused(ctx, "ada", "cam", &at))
		e, err = s.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.NotNil(t, e.PausedAt)
		err = s.DB().Exec(`INSERT INTO enrollments (id, customer_id, campaign_id, version, workflow_id, variant, status,
			emails_sent, revenue_minor, enrolled_at) VALUES ('e-2', 'ada', 'cam', 1, 'seq/cam/ada', 'A', 'running', 0, 0, ?)`, at).Error
		require.Error(t, err, "still one running enrollment per customer and campaign")
	})
}

// TestEnrollmentStepsMigrationKeepsEnrollments: version 4 adds the
// steps and promoted_to an ended sequence keeps (SQLite by rebuilding the
// table again); a paused mark from version 2 survives it, and an ended
// enrollment reads its steps back.
func TestEnrollmentStepsMigrationKeepsEnrollments(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, empty func() *models.Store) {
		s := empty()
		require.NoError(t, models.MigrateTo(ctx, s, 3))
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		require.NoError(t, s.DB().Exec(`INSERT INTO enrollments (id, customer_id, campaign_id, version, workflow_id, variant, status,
			emails_sent, revenue_minor, enrolled_at, paused_at) VALUES ('e-1', 'ada', 'cam', 1, 'seq/cam/ada', 'A', 'running', 1, 0, ?, ?)`, at, at).Error)
		require.NoError(t, s.Migrate(ctx))
		e, err := s.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.NotNil(t, e.PausedAt)
		require.Nil(t, e.Steps)
		steps := []domain.StepState{{ID: "s1", Status: "sent", DoneAt: &at, MessageID: "m-1"},
			{ID: "s2", Status: "skipped", Reason: "frequency cap: 1 email per day"}, {ID: "s3", Status: "not_reached", Reason: "converted"}}
		require.NoError(t, s.FinishEnrollment(ctx, "e-1", models.EnrollmentOutcome{Status: domain.StatusConverted, ExitReason: "converted",
			EndedAt: at, Steps: steps, PromotedTo: "B"}))
		e, err = s.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.Equal(t, "B", e.PromotedTo)
		require.Len(t, e.Steps, 3)
		require.Equal(t, "frequency cap: 1 email per day", e.Steps[1].Reason)
		require.True(t, e.Steps[0].DoneAt.Equal(at))
	})
}

// TestCustomerActivityMigrationFillsFromEvents: version 3 adds each
// customer's latest event time, filled from the events already stored, so
// the re-engagement scan finds customers who went quiet before the
// upgrade (their watchers retire).
func TestCustomerActivityMigrationFillsFromEvents(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, empty func() *models.Store) {
		s := empty()
		require.NoError(t, models.MigrateTo(ctx, s, 2))
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		require.NoError(t, s.DB().Exec(`INSERT INTO customers (id, email, timezone, locale, consent) VALUES ('ada', 'ada@example.com', 'UTC', 'en', true)`).Error)
		for i, d := range []time.Duration{0, 48 * time.Hour, 24 * time.Hour} {
			require.NoError(t, s.DB().Exec(`INSERT INTO events (id, type, customer_id, occurred_at, created_at) VALUES (?, 'page_view', 'ada', ?, ?)`,
				fmt.Sprint("ev-", i), at.Add(d), at.Add(d)).Error)
		}
		require.NoError(t, s.Migrate(ctx))
		last, err := s.LastEventAt(ctx, "ada")
		require.NoError(t, err)
		require.True(t, last.Equal(at.Add(48*time.Hour)), "%s", last)
		none, err := s.LastEventAt(ctx, "bob")
		require.NoError(t, err)
		require.True(t, none.IsZero())
	})
}
