package main

import (
	"context"
	"math"
	"sort"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
)

type contributor struct {
	Login   string `json:"login"`
	Commits int    `json:"commits"`
}

// countCommits turns GitHub's weekly statistics into one commit count per
// contributor, most commits first.
//
// A deleted account comes back as "author": null. GitHub's own pages show
// such commits under "ghost", and so do we (the talk's demo crashed here).
func countCommits(ctx context.Context, stats []*github.ContributorStats) []contributor {
	ctx, span := otel.Tracer(tracing.Scope).Start(ctx, "countCommits")
	defer span.End()

	updateLoginIndex(ctx, len(stats))

	commits := map[string]int{}
	for _, s := range stats {
		if s == nil { // a null in the list: nothing to count (it crashed us)
			continue
		}
		login := s.GetAuthor().GetLogin()
		if login == "" {
			login = "ghost"
		}
		for _, week := range s.Weeks {
			// GitHub's counts are small and never negative. Crafted ones
			// could wrap the sum round to a negative count: count a week
			// only if it is positive, and stop at the largest int.
			if n := week.GetCommits(); n > 0 {
				commits[login] += min(n, math.MaxInt-commits[login])
			}
		}
	}

	contributors := make([]contributor, 0, len(commits))
	for login, n := range commits {
		contributors = append(contributors, contributor{Login: login, Commits: n})
	}
	sort.Slice(contributors, func(i, j int) bool {
		if contributors[i].Commits != contributors[j].Commits {
			return contributors[i].Commits > contributors[j].Commits
		}
		return contributors[i].Login < contributors[j].Login
	})
	// Logged once it is known: the talk's demo logged the count before the
	// loop that computed it, and always showed 0.
	span.SetAttributes(attribute.Int("contributors", len(contributors)))
	return contributors
}
