package api

import (
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/errs"
)

// maxImports is how many bulk imports one API process runs at once; more
// are answered 429. Each holds a database connection for its chunks.
const maxImports = 2

// importIdle is how long an import may go without finishing a chunk:
// the request's read and write deadlines move on by it after each one,
// so an import of any length runs while it makes progress, and a stalled
// sender is cut off.
const importIdle = time.Minute

// importFormats maps a Content-Type to an import format.
var importFormats = map[string]string{
	"text/csv":             app.FormatCSV,
	"application/csv":      app.FormatCSV,
	"application/x-ndjson": app.FormatNDJSON,
	"application/ndjson":   app.FormatNDJSON,
	"application/jsonl":    app.FormatNDJSON,
	"application/x-jsonl":  app.FormatNDJSON,
}

// postImport loads customers, products or order lines from a CSV or
// JSON Lines body of any length; see app.Import. It never enrols,
// signals or sends.
func (h *handlers) postImport(c *gin.Context) {
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	format, ok := importFormats[ct]
	if !ok {
		writeError(c, h.Logger, errs.Field(errs.Malformed, "Content-Type", "must be text/csv or application/x-ndjson"))
		return
	}
	select {
	case h.importSlots <- struct{}{}:
		defer func() { <-h.importSlots }()
	default:
		c.Header("Retry-After", "30")
		writeError(c, h.Logger, errs.E(errs.TooManyRequests, "%d imports are running on this server: retry when one ends", maxImports))
		return
	}
	c.Set(ctxKeyAuditSubject, "import:"+c.Param("kind")) // an import names no one customer: its kind is on record
	rc := http.NewResponseController(c.Writer)
	extend := func(int64) {
		// Errors mean the server sets no deadlines (tests): nothing to move.
		_ = rc.SetReadDeadline(time.Now().Add(importIdle))
		_ = rc.SetWriteDeadline(time.Now().Add(2 * importIdle))
	}
	extend(0)
	res, err := h.App.Import(c.Request.Context(), c.Param("kind"), format, c.Request.Body, app.ImportOptions{
		Progress: extend, Currency: c.Query("currency"), ShopURL: c.Query("shop_url"),
	})
	if err != nil {
		if isTooLarge(err) {
			err = errs.E(errs.TooLarge, "the import is larger than %d bytes (LIFT_IMPORT_MAX_BYTES); the %d rows before the limit are stored", h.ImportMaxBytes, res.Rows)
		}
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, res)
}
