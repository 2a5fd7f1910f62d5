package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
	badThings = false // the tests about the misbehaviour switch it on themselves
}

func startApp(t *testing.T, githubURL string) string {
	app := &app{
		logger:        slog.Default(),
		github:        newGitHubClient(githubURL, contracttest.Token),
		githubTimeout: time.Second,
	}
	server := httptest.NewServer(app.routes())
	t.Cleanup(server.Close)
	return server.URL
}

func TestContract(t *testing.T) {
	contracttest.Run(t, startApp)
}

// TestInProcess: what every one-program step keeps, and step 4's lesson,
// checked in this process (internal/lesson).
func TestInProcess(t *testing.T) {
	stepsuite.TestInProcess(t, stepsuite.Monolith{
		Step:  4,
		Start: startApp,
		Handler: func(logger *slog.Logger, jaegerUI, githubURL string) http.Handler {
			app := &app{logger: logger, jaegerUI: jaegerUI, github: newGitHubClient(githubURL, contracttest.Token), githubTimeout: time.Second}
			return app.routes()
		},
		Wild: stepsuite.Wild{
			On: func(reindex time.Duration) func() {
				saved := reindexTime
				badThings, reindexTime = true, reindex
				return func() { badThings, reindexTime = false, saved }
			},
			Held: func() bool {
				if loginIndex.TryLock() {
					loginIndex.Unlock()
					return false
				}
				return true
			},
		},
	})
}
