package activities

import (
	"context"

	"github.com/lift-hq/lift/workflows"
)

// Render renders the message's subject, HTML and text into the database;
// see app.RenderMessage.
func (a *Activities) Render(ctx context.Context, ref workflows.MessageRef) error {
	return a.App.RenderMessage(ctx, ref.MessageID)
}
