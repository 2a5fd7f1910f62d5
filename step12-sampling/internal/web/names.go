package web

import (
	"fmt"
	"regexp"
)

// GitHub's naming rules: a login is letters, digits and single hyphens
// (at most 39 characters); a repository name is letters, digits, '.', '-'
// and '_' (at most 100). The gateway checks them before it calls anybody,
// the contributors service before it calls GitHub.
var (
	validOwner = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)
	validRepo  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// ValidateRepo refuses an owner or repository name GitHub cannot have.
func ValidateRepo(owner, repo string) error {
	if len(owner) > 39 || !validOwner.MatchString(owner) {
		return fmt.Errorf("invalid owner %.40q: GitHub logins are letters, digits and single hyphens, at most 39 characters", owner)
	}
	if len(repo) > 100 || !validRepo.MatchString(repo) || repo == "." || repo == ".." {
		return fmt.Errorf("invalid repository name %.100q: letters, digits, '.', '-' and '_', at most 100 characters", repo)
	}
	return nil
}
