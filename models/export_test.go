package models

import "context"

// AutoMigrateLikeBefore makes the schema the way Lift did before
// versioned migrations; tests make "a database from before" with it.
func AutoMigrateLikeBefore(ctx context.Context, s *Store) error { return s.autoMigrateModels(ctx) }
