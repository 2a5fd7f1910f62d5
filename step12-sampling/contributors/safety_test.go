package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
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

// TestSecretsStayOutOfSpans: the same secrets, and the spans they could
// reach on the native API: otelhttp's client span of the call to GitHub
// (url.full, its status) and fetchContributorStats' (its status and
// exception event, which carry go-github's error with GitHub's message
// and the URL).
func TestSecretsStayOutOfSpans(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message": "Bad credentials: Authorization: %s", "status": "401"}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	const password = "urlpassword"
	client := newGitHubClient(strings.Replace(echo.URL, "http://", "http://learner:"+password+"@", 1)+"/", contracttest.Token)
	if _, err := fetchContributorStats(context.Background(), client, "golang", "go"); err == nil {
		t.Fatal("a 401 from GitHub gave no error")
	}
	spans := exporter.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want fetchContributorStats and the call to GitHub", len(spans))
	}
	fetch := oteltest.Find(t, exporter, "fetchContributorStats")
	if !strings.Contains(fetch.Status.Description, "Bad credentials") {
		t.Errorf("fetchContributorStats' status %q, want GitHub's message", fetch.Status.Description)
	}
	text := fmt.Sprintf("%+v", spans) // attributes, events, status, links
	for name, secret := range map[string]string{"the token": contracttest.Token, "GITHUB_API_URL's password": password, "GITHUB_API_URL's user": "learner"} {
		if strings.Contains(text, secret) {
			t.Errorf("%s is in a span:\n%s", name, text)
		}
	}
}

// FuzzValidateRepo: the route's owner/repo validation never panics, takes
// only names GitHub can have, and refuses in a bounded message.
// scripts/fuzz runs it (go test -fuzz FuzzValidateRepo).
func FuzzValidateRepo(f *testing.F) { contracttest.FuzzRepoNames(f, web.ValidateRepo) }

// newGitHubClient is the step's GitHub client, as the contract tests call it.
func newGitHubClient(apiURL, token string) *github.Client {
	return githubapi.NewClient(apiURL, token, slog.Default(), traceGitHub)
}
