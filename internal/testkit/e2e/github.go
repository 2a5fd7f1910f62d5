package e2e

import (
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// GitHub runs the stand-in GitHub for the test and returns it (to inspect
// its requests, which it records) and its URL with the trailing slash
// GITHUB_API_URL takes.
func GitHub(t testing.TB, opts fakegithub.Options) (*fakegithub.Server, string) {
	t.Helper()
	g, err := stack.StartGitHub(0, opts)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	return g.Server, g.URL
}
