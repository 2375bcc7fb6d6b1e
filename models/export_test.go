package models

import "context"

// AutoMigrateLikeBefore makes the schema the way Lift did before
// versioned migrations; tests make "a database from before" with it.
func AutoMigrateLikeBefore(ctx context.Context, s *Store) error { return s.autoMigrateModels(ctx) }

// MigrateTo brings the schema up to version, and no further.
func MigrateTo(ctx context.Context, s *Store, version int64) error {
	p, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
