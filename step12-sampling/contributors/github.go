package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceGitHub wraps the GitHub client's transport: otelhttp's makes a
// client span for every call to GitHub, with its URL and status. It
// propagates nothing: GitHub is a third party, and our trace context and
// baggage are none of its business.
func traceGitHub(transport http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(transport, otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))
}

// GitHub computes statistics in the background: a repository it has not
// computed recently answers 202 Accepted with an empty body. We ask again
// after these pauses (a few seconds in all) and then give up. The talk's
// demo took the empty 202 for "no contributors".
var statsRetryDelays = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
}

func fetchContributorStats(ctx context.Context, client *github.Client, owner, repo string) (_ []*github.ContributorStats, err error) {
	// A child of the request's span, which ctx carries; the new ctx carries
	// this span in turn, for anything we call from here: each call to
	// GitHub is otelhttp's client span under this one, which stands for
	// the whole fetch, 202 retries included.
	ctx, span := otel.Tracer(tracing.Scope).Start(ctx, "fetchContributorStats")
	defer span.End()
	span.SetAttributes(attribute.String("repo", owner+"/"+repo))
	defer func() {
		if errors.Is(err, context.Canceled) { // our client gave up: no failure of ours
			span.AddEvent("the client gave up")
		} else if err != nil {
			tracing.Failed(span, err) // the status, and an event: what went wrong, and when
		}
	}()

	for attempt := 0; ; attempt++ {
		stats, _, err := client.Repositories.ListContributorsStats(ctx, owner, repo)
		var accepted *github.AcceptedError
		if !errors.As(err, &accepted) {
			return stats, err
		}
		if attempt == len(statsRetryDelays) {
			return nil, githubapi.ErrStatsNotReady
		}
		span.AddEvent("statistics not ready (202), retrying", trace.WithAttributes(
			attribute.Int("attempt", attempt+1),
			attribute.String("retry_in", statsRetryDelays[attempt].String()),
		))
		select {
		case <-time.After(statsRetryDelays[attempt]):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
