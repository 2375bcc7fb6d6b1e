package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/errs"
)

var (
	errInternal = errs.E(errs.Internal, "internal error")
	errRoute    = errs.E(errs.NotFound, "no such route")
	errMethod   = &errs.Error{Code: "method_not_allowed", Message: "method not allowed on this route"}
)

// statusFor is the one table from error codes to HTTP statuses.
func statusFor(code errs.Code) int {
	switch code {
	case errs.Malformed:
		return http.StatusBadRequest
	case errs.Invalid:
		return http.StatusUnprocessableEntity
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.TooManyRequests:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case "method_not_allowed":
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a stable code, the offending field and a message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// writeError answers with the error's status and body. Only internal and
// unavailable errors are logged; the client never sees their cause.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	e, ok := errs.As(err)
	if !ok {
		e = errs.Wrap(errs.Internal, err, "internal error")
	}
	status := statusFor(e.Code)
	msg := e.Message
	if status >= 500 {
		log.ErrorContext(c.Request.Context(), "request failed", "route", c.FullPath(), "code", e.Code, "err", err)
		if e.Code == errs.Internal {
			msg = "internal error"
		}
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{Code: string(e.Code), Field: e.Field, Message: msg}})
}

// isTooLarge reports whether err came from the body size limit.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
