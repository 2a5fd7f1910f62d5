package e2e

import (
	"net/http/httptest"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
)

// GitHub runs the stand-in GitHub for the test and returns it (to inspect
// its requests, which it records) and its URL with the trailing slash
// GITHUB_API_URL takes.
func GitHub(t testing.TB, opts fakegithub.Options) (*fakegithub.Server, string) {
	t.Helper()
	opts.Record = true
	server := fakegithub.New(opts)
	httpServer := httptest.NewServer(server)
	t.Cleanup(func() {
		// Close waits for requests in flight; a client stuck on the
		// "slow/" owner must not hold the test up.
		httpServer.CloseClientConnections()
		httpServer.Close()
	})
	return server, httpServer.URL + "/"
}
