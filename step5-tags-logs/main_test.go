package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
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

// TestInProcess: what every one-program step keeps, and step 5's lesson,
// checked in this process (internal/lesson).
func TestInProcess(t *testing.T) {
	stepsuite.TestInProcess(t, stepsuite.Monolith{
		Step:  5,
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

// TestTagsAndLogs: step 5's lesson. Tags describe a whole span (which
// repository, which URL, which status); logs say what happened when (a 202
// retry, the number of contributors once counted, an upstream error).
func TestTagsAndLogs(t *testing.T) {
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{ComputeCalls: 2})
	base := startApp(t, githubURL)

	contracttest.Get(t, base+"/git/golang/go")

	request := tracetest.Find(t, tracer, "GET /git/{owner}/{repo}")
	wantTags(t, request, map[string]any{
		"repo": "golang/go", "span.kind": ext.SpanKindRPCServerEnum,
		"http.method": "GET", "http.url": "/git/golang/go", "http.status_code": uint16(200),
	})
	fetch := tracetest.Find(t, tracer, "fetchContributorStats")
	wantTags(t, fetch, map[string]any{
		"span.kind": ext.SpanKindRPCClientEnum, "http.method": "GET",
		"http.url": githubURL + "repos/golang/go/stats/contributors", "http.status_code": uint16(200),
	})
	if _, ok := request.Tags()["error"]; ok {
		t.Error("a successful request is tagged error")
	}
	wantLogs(t, fetch, []string{
		"event=statistics not ready (202), retrying attempt=1 retry_in=1ms",
		"event=statistics not ready (202), retrying attempt=2 retry_in=1ms",
	})
	count := tracetest.Find(t, tracer, "countCommits")
	wantLogs(t, count, []string{fmt.Sprintf("contributors=%d", len(contracttest.Expected("golang", "go")))})
}

// TestWildLogsSolveTheMystery: with the misbehaviour on, the logs of
// countCommits show the lock and the rebuild that make requests slow.
func TestWildLogsSolveTheMystery(t *testing.T) {
	badThings, reindexTime = true, 10*time.Millisecond
	t.Cleanup(func() { badThings, reindexTime = false, 2*time.Second })
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := startApp(t, githubURL)

	contracttest.Get(t, base+"/git/torvalds/linux")

	wantLogs(t, tracetest.Find(t, tracer, "countCommits"), []string{
		"event=waiting for the login index lock",
		"event=login index locked",
		fmt.Sprintf("event=rebuilding the login index contributors=%d", len(fakegithub.Stats("torvalds", "linux"))),
		fmt.Sprintf("contributors=%d", len(contracttest.Expected("torvalds", "linux"))),
	})
}

func wantTags(t *testing.T, span *mocktracer.MockSpan, want map[string]any) {
	t.Helper()
	for key, value := range want {
		if got := span.Tag(key); got != value {
			t.Errorf("span %q: tag %s = %v (%T), want %v (%T)", span.OperationName, key, got, got, value, value)
		}
	}
}

// wantLogs compares a span's logs, each drawn as "key=value key=value".
func wantLogs(t *testing.T, span *mocktracer.MockSpan, want []string) {
	t.Helper()
	var got []string
	for _, record := range span.Logs() {
		var fields []string
		for _, f := range record.Fields {
			fields = append(fields, f.Key+"="+f.ValueString)
		}
		got = append(got, strings.Join(fields, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("span %q logs:\n%s\nwant:\n%s", span.OperationName, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
