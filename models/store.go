package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	moderncsqlite "modernc.org/sqlite" // pure-Go SQLite, also Temporal's; registers "sqlite"

	"github.com/lift-hq/lift/internal/errs"
)

// Store is Lift's persistence. Every method takes a context and returns
// errors coded with internal/errs (not found, conflict, invalid, internal).
type Store struct {
	db       *gorm.DB
	postgres bool
}

// Open connects to dsn: a postgres:// URL, or else a SQLite file, as a
// path or a sqlite:// URL (sqlite:///var/lib/lift.db).
func Open(dsn string) (*Store, error) {
	dsn = strings.TrimPrefix(dsn, "sqlite://")
	if IsPostgres(dsn) {
		db, err := gorm.Open(postgres.Open(dsn), gormConfig())
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return &Store{db: db, postgres: true}, nil
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// WAL lets readers run beside the writer; busy_timeout waits out a lock
	// instead of failing; one connection serialises writers so SQLite never
	// answers "database is locked" to a transaction upgrade.
	full := dsn + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: full}), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	return &Store{db: db}, nil
}

// SetPool bounds a PostgreSQL store's connection pool: at most maxOpen
// connections, maxIdle kept between uses, each replaced after 30 minutes
// (so a failover or a proxy's rebalancing is picked up). SQLite keeps its
// single connection.
func (s *Store) SetPool(maxOpen, maxIdle int) error {
	if !s.postgres {
		return nil
	}
	db, err := s.db.DB()
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxIdle)
	db.SetConnMaxLifetime(30 * time.Minute)
	return nil
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=")
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:         logger.Default.LogMode(logger.Silent),
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "database unreachable")
	}
	return nil
}

// DB exposes the connection for tests and benchmarks in this module.
func (s *Store) DB() *gorm.DB { return s.db }

// translate maps GORM errors onto the error vocabulary.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errs.Wrap(errs.NotFound, err, "%s not found", what)
	case errors.Is(err, gorm.ErrDuplicatedKey), isSQLiteUnique(err):
		return errs.Wrap(errs.Conflict, err, "%s already exists", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Unavailable, err, "%s: %v", what, err)
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(errs.Internal, err, "%s", what)
}

// found returns v, or nil and the translated error: a Get* method never
// hands back a zero value beside an error.
func found[T any](v *T, err error, what string) (*T, error) {
	if err != nil {
		return nil, translate(err, what)
	}
	return v, nil
}

// clip shortens text Lift writes itself (reasons, notes, a provider's
// IDs) to its column's size in characters, so a long error message never
// fails a write on PostgreSQL that SQLite would take. Text callers send
// is validated instead, with the field named.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// isSQLiteUnique recognises modernc's unique and primary-key violations,
// which GORM's SQLite dialector does not translate.
func isSQLiteUnique(err error) bool {
	var se *moderncsqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code()
	return code == 2067 || code == 1555 // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
}

// InTx runs fn with a store whose every method works inside one
// transaction: committed when fn returns nil, rolled back otherwise. A
// method's own transaction becomes a savepoint in it. Nothing inside fn
// may use another store (on SQLite, with its one connection, it would
// wait for this transaction forever).
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(&Store{db: tx, postgres: s.postgres})
	})
}
