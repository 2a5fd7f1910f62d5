package main

// End-to-end: the real program, built from this directory, reports to a
// real Jaeger, and its traces are read back from Jaeger's query API and
// held to step 5's lesson (internal/lesson), as make check holds a
// learner's exercise to it.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

func TestLesson(t *testing.T) { stepsuite.Test(t, 5, ".") }

// TestMonolith: the BAD_THINGS switch; spans flushed on shutdown, Jaeger
// down, a client's broken trace header.
func TestMonolith(t *testing.T) { stepsuite.TestMonolith(t, 5, ".") }

// TestMysterySolvedInJaeger: with the misbehaviour on, a small repository
// asked for next to a big one waits for the login index lock, and its
// trace in Jaeger shows it.
func TestMysterySolvedInJaeger(t *testing.T) {
	github, answered, githubURL := answeringGitHub(t)
	stack, problems := stepsuite.Start(t, 5, ".", stepsuite.Options{GitHubURL: githubURL, Env: map[string]string{"BAD_THINGS": "on"}})
	if problems != nil {
		t.Fatal(problems)
	}

	big := make(chan error, 1)
	go func() {
		_, err := stepsuite.TimedGet(stack.URL + "/git/torvalds/linux")
		big <- err
	}()
	// The big one takes the lock once it has its statistics: ask for the
	// small one after the stand-in has answered the big one's request. Every
	// answer of the stand-in takes 300 ms, so the small one reaches the lock
	// that long after the big one took it.
	stepsuite.WaitFor(t, "the stand-in to get the torvalds/linux request", func() bool { return len(github.Requests()) == 1 })
	stepsuite.WaitFor(t, "the stand-in to answer it", func() bool { return answered.Load() == 1 })
	resp, err := http.Get(stack.URL + "/git/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-big; err != nil {
		t.Errorf("the big repository: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := stack.Jaeger.Client().WaitForTrace(ctx, resp.Header.Get("X-Trace-Id"), tracetest.HasSpans(3))
	if err != nil {
		t.Fatal(err)
	}
	var count jaeger.Span
	for _, s := range trace.Spans {
		if s.OperationName == "countCommits" {
			count = s
		}
	}
	waiting, locked := logTime(count, "waiting for the login index lock"), logTime(count, "login index locked")
	if waiting == 0 || locked == 0 {
		t.Fatalf("countCommits logs = %+v, want the lock's events", count.Logs)
	}
	if waited := time.Duration(locked-waiting) * time.Microsecond; waited < time.Second {
		t.Errorf("golang/go waited %v for the lock, want over a second (behind torvalds/linux)", waited)
	}
}

// answeringGitHub runs a stand-in GitHub that answers in 300 ms, and
// counts the answers it has finished.
func answeringGitHub(t *testing.T) (*fakegithub.Server, *atomic.Int32, string) {
	server, answered := fakegithub.New(fakegithub.Options{Latency: 300 * time.Millisecond, Record: true}), &atomic.Int32{}
	httpServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.ServeHTTP(w, r)
		answered.Add(1)
	}))
	t.Cleanup(func() {
		httpServer.CloseClientConnections()
		httpServer.Close()
	})
	return server, answered, httpServer.URL + "/"
}

// logTime returns the time (µs) of the span's log whose event is event,
// or 0.
func logTime(s jaeger.Span, event string) int64 {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == "event" && f.Value == event {
				return l.Timestamp
			}
		}
	}
	return 0
}
