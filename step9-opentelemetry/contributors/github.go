package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
)

// GitHub computes statistics in the background: a repository it has not
// computed recently answers 202 Accepted with an empty body. We ask again
// after these pauses (a few seconds in all) and then give up. The talk's
// demo took the empty 202 for "no contributors".
var statsRetryDelays = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
}

func fetchContributorStats(ctx context.Context, client *github.Client, owner, repo string) (_ []*github.ContributorStats, err error) {
	// A child of the request's span, which ctx carries; the new ctx carries
	// this span in turn, for anything we call from here.
	span, ctx := opentracing.StartSpanFromContext(ctx, "fetchContributorStats", ext.SpanKindRPCClient)
	defer span.Finish()
	ext.HTTPMethod.Set(span, http.MethodGet)
	ext.HTTPUrl.Set(span, fmt.Sprintf("%srepos/%s/%s/stats/contributors", client.BaseURL, owner, repo))
	defer func() {
		if errors.Is(err, context.Canceled) { // our client gave up: no failure of ours
			span.LogFields(log.String("event", "the client gave up"))
		} else if err != nil {
			ext.LogError(span, err) // the error tag, and a log: what went wrong, and when
		}
	}()

	for attempt := 0; ; attempt++ {
		stats, response, err := client.Repositories.ListContributorsStats(ctx, owner, repo)
		if response != nil {
			ext.HTTPStatusCode.Set(span, uint16(response.StatusCode))
		}
		var accepted *github.AcceptedError
		if !errors.As(err, &accepted) {
			return stats, err
		}
		if attempt == len(statsRetryDelays) {
			return nil, githubapi.ErrStatsNotReady
		}
		span.LogFields(
			log.String("event", "statistics not ready (202), retrying"),
			log.Int("attempt", attempt+1),
			log.String("retry_in", statsRetryDelays[attempt].String()),
		)
		select {
		case <-time.After(statsRetryDelays[attempt]):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
