package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
}

func startApp(t *testing.T, githubURL string) string {
	app := &app{
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

func TestRequestLogLine(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	handler := logRequests(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusTeapot, "short and stout")
	}))

	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/git/a/b", nil))

	line := logs.String()
	for _, want := range []string{"method=GET", "path=/git/a/b", "status=418", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one log line per request, got %q", line)
	}
}
