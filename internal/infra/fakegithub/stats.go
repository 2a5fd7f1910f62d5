package fakegithub

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"
)

// ContributorStats is one element of GitHub's stats/contributors answer.
// Author is nil for a deleted account: GitHub sends "author": null.
type ContributorStats struct {
	Total  int          `json:"total"`
	Weeks  []WeeklyStat `json:"weeks"`
	Author *Author      `json:"author"`
}

// WeeklyStat is one week of activity: its start (Unix seconds), additions,
// deletions and commits.
type WeeklyStat struct {
	W int64 `json:"w"`
	A int   `json:"a"`
	D int   `json:"d"`
	C int   `json:"c"`
}

// Author is the subset of GitHub's user object that the API sends here.
type Author struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	AvatarURL string `json:"avatar_url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

// MaxContributors is the most contributors a repository gets; real GitHub
// also sends at most the top 100.
const MaxContributors = 100

// weeks of history in every repository, starting on a Sunday as GitHub's do.
const weeks = 12

var firstWeek = time.Date(2026, time.January, 4, 0, 0, 0, 0, time.UTC)

var names = []string{
	"ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances",
	"edsger", "radia", "donald", "sophie", "alan", "adele", "john", "hedy",
}

// Stats returns the synthetic statistics of a repository: between 1 and
// MaxContributors contributors, one or two of them deleted accounts, the
// same every time for the same owner and repository. Like GitHub, it takes
// names in any case and with or without ".git": GoLang/Go.git is golang/go.
func Stats(owner, repo string) []ContributorStats {
	owner, repo = Canonical(owner, repo)
	seed := hash(owner + "/" + repo)
	people := 1 + int(seed%MaxContributors)
	deleted := 1 + int(seed/MaxContributors%2)
	stats := make([]ContributorStats, 0, people)
	for i := range people {
		login := fmt.Sprintf("%s-%d", names[i%len(names)], i)
		var author *Author
		if i >= deleted { // the first one or two are deleted accounts
			id := int64(hash(login))
			author = &Author{
				Login:     login,
				ID:        id,
				NodeID:    fmt.Sprintf("MDQ6VXNlcj%d", id),
				AvatarURL: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
				HTMLURL:   "https://github.com/" + login,
				Type:      "User",
			}
		}
		contributor := ContributorStats{Author: author}
		for week := range weeks {
			commits := int(hash(fmt.Sprint(owner, "/", repo, "/", i, "/", week)) % 7)
			contributor.Weeks = append(contributor.Weeks, WeeklyStat{
				W: firstWeek.AddDate(0, 0, 7*week).Unix(),
				A: commits * 13,
				D: commits * 5,
				C: commits,
			})
			contributor.Total += commits
		}
		stats = append(stats, contributor)
	}
	return stats
}

// Canonical returns the name GitHub knows a repository by, for the
// stand-in's purposes: lower case, without a ".git" suffix.
func Canonical(owner, repo string) (string, string) {
	repo = strings.ToLower(repo)
	return strings.ToLower(owner), strings.TrimSuffix(repo, ".git")
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// Overflow returns the overflow/ owner's statistics, crafted to overflow a
// sum of int64 commit counts: "big" has two weeks of math.MaxInt64
// commits, a deleted account two of half as many and one more, and
// "negative" a week of -10 commits and one of 3. Counted with a check,
// no count comes out negative.
func Overflow() []ContributorStats {
	week := func(commits ...int) []WeeklyStat {
		var weeks []WeeklyStat
		for i, c := range commits {
			weeks = append(weeks, WeeklyStat{W: firstWeek.AddDate(0, 0, 7*i).Unix(), C: c})
		}
		return weeks
	}
	return []ContributorStats{
		{Total: math.MaxInt64, Weeks: week(math.MaxInt64, math.MaxInt64), Author: &Author{Login: "big", ID: 1, Type: "User"}},
		{Total: math.MaxInt64, Weeks: week(math.MaxInt64/2+1, math.MaxInt64/2+1)},
		{Total: -7, Weeks: week(-10, 3), Author: &Author{Login: "negative", ID: 2, Type: "User"}},
	}
}
