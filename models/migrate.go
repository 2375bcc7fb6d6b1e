package models

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"

	"github.com/lift-hq/lift/internal/errs"
)

// The schema is versioned by goose: SQL files per engine in
// models/migrations/{postgres,sqlite}, numbered, each applied once and
// recorded in goose_db_version. The model structs describe the same
// schema (TestMigrationsMatchTheModels holds them together).
//
//go:embed migrations
var migrations embed.FS

// versionTable is goose's record of the applied migrations.
const versionTable = "goose_db_version"

// SchemaVersion is where a database's schema stands, and where this
// build's migrations take it.
type SchemaVersion struct {
	Current, Head int64
}

func (s *Store) migrator(ctx context.Context) (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	var opts []goose.ProviderOption
	if s.postgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		// Two lift migrate at once: the second waits for the first.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	db, err := s.db.WithContext(ctx).DB()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db, fsys, opts...)
}

// Migrate brings the schema to this build's head and then applies the
// data migrations not yet applied. It is idempotent. A database made
// before versioned migrations (by GORM's AutoMigrate) is adopted: brought
// to the models' schema, which is the head's, and recorded as at head.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrator(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := s.adoptUnversioned(ctx, p); err != nil {
		return fmt.Errorf("migrate: adopt a database from before versioned migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return s.migrateData(ctx)
}

// adoptUnversioned records a database made before versioned migrations
// as at head, after bringing it to the models' schema.
func (s *Store) adoptUnversioned(ctx context.Context, p *goose.Provider) error {
	m := s.db.WithContext(ctx).Migrator()
	if m.HasTable(versionTable) || !m.HasTable(&Customer{}) {
		return nil
	}
	if err := s.autoMigrateModels(ctx); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	dialect := database.DialectSQLite3
	if s.postgres {
		dialect = database.DialectPostgres
	}
	store, err := database.NewStore(dialect, versionTable)
	if err != nil {
		return err
	}
	return db.Transaction(func(tx *gorm.DB) error {
		conn := tx.Statement.ConnPool.(database.DBTxConn)
		if err := store.CreateVersionTable(ctx, conn); err != nil {
			return err
		}
		if err := store.Insert(ctx, conn, database.InsertRequest{Version: 0}); err != nil {
			return err
		}
		for _, src := range p.ListSources() {
			if err := store.Insert(ctx, conn, database.InsertRequest{Version: src.Version}); err != nil {
				return err
			}
		}
		return nil
	})
}

// autoMigrateModels makes the schema from the models, as Lift did before
// versioned migrations: GORM's AutoMigrate and the one index it added by
// hand.
func (s *Store) autoMigrateModels(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	if err := db.AutoMigrate(all()...); err != nil {
		return err
	}
	// One running enrollment per customer and campaign, enforced by the
	// database as well as by the workflow ID.
	return db.Exec(`CREATE UNIQUE INDEX IF NOT EXISTS idx_one_running_enrollment
		ON enrollments (customer_id, campaign_id) WHERE status = 'running'`).Error
}

// SchemaVersion reports the database's schema version and this build's.
func (s *Store) SchemaVersion(ctx context.Context) (SchemaVersion, error) {
	p, err := s.migrator(ctx)
	if err != nil {
		return SchemaVersion{}, err
	}
	var v SchemaVersion
	if srcs := p.ListSources(); len(srcs) > 0 {
		v.Head = srcs[len(srcs)-1].Version
	}
	if !s.db.WithContext(ctx).Migrator().HasTable(versionTable) {
		return v, nil
	}
	v.Current, err = p.GetDBVersion(ctx)
	return v, err
}

// CheckSchema reports whether the schema is at least this build's head,
// so the API and the worker refuse to start on a database `lift migrate`
// has not brought up to date, naming both versions. A newer schema is
// fine: migrations add before they remove, so a rolling deploy runs the
// old build on the new schema.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v.Current < v.Head {
		return errs.E(errs.Unavailable, "the database schema is at version %d and this build needs %d: run `lift migrate` first", v.Current, v.Head)
	}
	return nil
}
