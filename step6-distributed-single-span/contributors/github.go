package main

import (
	"context"
	"errors"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
)

// GitHub computes statistics in the background: a repository it has not
// computed recently answers 202 Accepted with an empty body. We ask again
// after these pauses (a few seconds in all) and then give up. The talk's
// demo took the empty 202 for "no contributors".
var statsRetryDelays = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
}

func fetchContributorStats(ctx context.Context, client *github.Client, owner, repo string) ([]*github.ContributorStats, error) {
	for attempt := 0; ; attempt++ {
		stats, _, err := client.Repositories.ListContributorsStats(ctx, owner, repo)
		var accepted *github.AcceptedError
		if !errors.As(err, &accepted) {
			return stats, err
		}
		if attempt == len(statsRetryDelays) {
			return nil, githubapi.ErrStatsNotReady
		}
		select {
		case <-time.After(statsRetryDelays[attempt]):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
