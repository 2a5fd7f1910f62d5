package main

import (
	"math"
	"sort"

	"github.com/google/go-github/v60/github"
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
func countCommits(stats []*github.ContributorStats) []contributor {
	updateLoginIndex(len(stats))

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
	return contributors
}
