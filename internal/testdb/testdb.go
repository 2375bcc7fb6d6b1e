// Package testdb gives tests a real, empty, migrated store: SQLite always,
// PostgreSQL when TEST_DATABASE_URL is set. Each PostgreSQL store lives in
// its own schema, dropped when the test ends, so tests run in parallel.
//
// Without TEST_DATABASE_URL the PostgreSQL tests skip with a message;
// with LIFT_REQUIRE_POSTGRES=1 (set by .ci/run) they fail instead.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/lift-hq/lift/models"
)

// SQLite returns a migrated store in a temporary file.
func SQLite(t testing.TB) *models.Store {
	t.Helper()
	s, err := models.Open(filepath.Join(t.TempDir(), "lift.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// PostgresURL returns a URL to a fresh schema of the test database, or
// skips (fails under LIFT_REQUIRE_POSTGRES=1) without TEST_DATABASE_URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("LIFT_REQUIRE_POSTGRES") == "1" {
			t.Fatal("TEST_DATABASE_URL is not set but LIFT_REQUIRE_POSTGRES=1: PostgreSQL tests must run")
		}
		t.Skip("PostgreSQL tests skipped: set TEST_DATABASE_URL=postgres://… to run them")
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	schema := "t_" + hex.EncodeToString(buf)
	// The admin connection is opened for the create and the drop only:
	// many tests run at once, and PostgreSQL has 100 connections.
	exec := func(sql string) error {
		admin, err := gorm.Open(postgres.Open(base), &gorm.Config{})
		if err != nil {
			return err
		}
		if db, err := admin.DB(); err == nil {
			defer db.Close()
		}
		return admin.Exec(sql).Error
	}
	require.NoError(t, exec("CREATE SCHEMA "+schema))
	t.Cleanup(func() { _ = exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres returns a migrated store in a fresh schema.
func Postgres(t testing.TB) *models.Store {
	t.Helper()
	s, err := models.Open(PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	// A test's races need a few connections, not the server's hundred.
	db, err := s.DB().DB()
	require.NoError(t, err)
	db.SetMaxOpenConns(8)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// Each runs fn against SQLite and PostgreSQL, as subtests.
func Each(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachParallel is Each with the two subtests run in parallel with each
// other and with other parallel tests. The store is made once the subtest
// may run, so the tests waiting for their turn hold no connection.
func EachParallel(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, Postgres(t)) })
}
