package main

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
}

func TestContributors(t *testing.T) {
	stepsuite.TestContributors(t, stepsuite.Contributors{Handler: func(githubURL, token string) http.Handler {
		app := &app{logger: slog.Default(), github: newGitHubClient(githubURL, token), githubTimeout: time.Second}
		return app.routes()
	}})
}
