package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/errs"
)

// Classify decides whether Temporal retries an activity's error; it is
// the only place that does. Input that cannot become valid (invalid,
// malformed, not found) and a provider's permanent refusal fail the
// attempt for good; a provider's rate limit is retried at its reset time;
// everything else (an outage, a timeout, a bug) is retried with the
// workflow's backoff. An error that already says (a Temporal application
// error) is left as it is.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err
	}
	var rl *delivery.RateLimited
	if errors.As(err, &rl) {
		delay := max(time.Until(rl.Reset), time.Second)
		return temporal.NewApplicationErrorWithOptions(err.Error(), "rate_limited",
			temporal.ApplicationErrorOptions{NextRetryDelay: delay, Cause: err})
	}
	switch code := errs.CodeOf(err); code {
	case errs.Invalid, errs.Malformed, errs.NotFound, errs.PermanentRemote:
		return temporal.NewNonRetryableApplicationError(err.Error(), string(code), err)
	}
	return err
}

// Interceptor applies Classify to every activity's error; the worker
// installs it.
func Interceptor() interceptor.WorkerInterceptor { return &classifier{} }

type classifier struct {
	interceptor.WorkerInterceptorBase
}

func (*classifier) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &classifyingInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type classifyingInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (c *classifyingInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := c.Next.ExecuteActivity(ctx, in)
	return res, Classify(err)
}
