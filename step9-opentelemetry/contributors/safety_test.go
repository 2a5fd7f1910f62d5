package main

import (
	"log/slog"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
)

// TestTokenStaysHome: GITHUB_TOKEN goes over HTTPS, or to this machine;
// never in clear text across a network.
func TestTokenStaysHome(t *testing.T) { contracttest.TokenStaysHome(t, newGitHubClient) }

// TestTokenFollowsNoRedirect: GitHub's redirects are followed within its
// API only; the token never goes to another host.
func TestTokenFollowsNoRedirect(t *testing.T) {
	contracttest.TokenFollowsNoRedirect(t, newGitHubClient)
}

// TestSecretsStayOutOfErrors: GitHub's error message that echoes the
// token, and a password in GITHUB_API_URL, reach none of the errors that
// are logged and put in spans.
func TestSecretsStayOutOfErrors(t *testing.T) {
	contracttest.SecretsStayOutOfErrors(t, newGitHubClient)
}

// FuzzValidateRepo: the route's owner/repo validation never panics, takes
// only names GitHub can have, and refuses in a bounded message.
// scripts/fuzz runs it (go test -fuzz FuzzValidateRepo).
func FuzzValidateRepo(f *testing.F) { contracttest.FuzzRepoNames(f, web.ValidateRepo) }

// newGitHubClient is the step's GitHub client, as the contract tests call it.
func newGitHubClient(apiURL, token string) *github.Client {
	return githubapi.NewClient(apiURL, token, slog.Default(), nil)
}
