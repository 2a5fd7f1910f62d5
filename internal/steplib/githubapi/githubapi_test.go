package githubapi_test

import (
	"log/slog"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
)

func newClient(apiURL, token string) *github.Client {
	return githubapi.NewClient(apiURL, token, slog.Default(), nil)
}

// TestTokenStaysHome: GITHUB_TOKEN goes over HTTPS, or to this machine;
// never in clear text across a network.
func TestTokenStaysHome(t *testing.T) { contracttest.TokenStaysHome(t, newClient) }

// TestTokenFollowsNoRedirect: GitHub's redirects are followed within its
// API only; the token never goes to another host.
func TestTokenFollowsNoRedirect(t *testing.T) { contracttest.TokenFollowsNoRedirect(t, newClient) }

// TestSecretsStayOutOfErrors: GitHub's error message that echoes the
// token, and a password in GITHUB_API_URL, reach none of the errors.
func TestSecretsStayOutOfErrors(t *testing.T) { contracttest.SecretsStayOutOfErrors(t, newClient) }
