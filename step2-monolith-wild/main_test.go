package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
	badThings = false // the tests about the misbehaviour switch it on themselves
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

// TestWildRequestsAreSlowTogether shows the mystery from the outside: a big
// repository is slow, and a small one asked for at the same time is slow too.
func TestWildRequestsAreSlowTogether(t *testing.T) {
	badThings, reindexTime = true, 300*time.Millisecond
	t.Cleanup(func() { badThings, reindexTime = false, 2*time.Second })
	github, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := startApp(t, githubURL)

	if took, err := timedGet(base + "/git/golang/go"); err != nil || took >= reindexTime {
		t.Errorf("a small repository alone took %v (%v), want it fast", took, err)
	}
	if took, err := timedGet(base + "/git/torvalds/linux"); err != nil || took < reindexTime {
		t.Errorf("a big repository took %v (%v), want at least %v", took, err, reindexTime)
	}

	// Both at once: the small one is asked for once the big one has its
	// statistics from the stand-in and holds the login index lock.
	asked := len(github.Requests())
	type result struct {
		took time.Duration
		err  error
	}
	big := make(chan result, 1)
	go func() {
		took, err := timedGet(base + "/git/torvalds/linux")
		big <- result{took, err}
	}()
	waitFor(t, "the stand-in to get the torvalds/linux request", func() bool { return len(github.Requests()) > asked })
	waitFor(t, "torvalds/linux to take the login index lock", func() bool {
		if loginIndex.TryLock() {
			loginIndex.Unlock()
			return false
		}
		return true
	})
	small, err := timedGet(base + "/git/golang/go")
	if err != nil {
		t.Error(err)
	}
	if b := <-big; b.err != nil || b.took < reindexTime {
		t.Errorf("the big repository next to a small one took %v (%v), want at least %v", b.took, b.err, reindexTime)
	}
	if small < reindexTime/2 {
		t.Errorf("a small repository next to a big one took %v, want it held up", small)
	}
}

// timedGet sends GET url and says how long the answer took, and fails
// unless it is 200. Unlike contracttest.Get it does not stop the test, so
// goroutines may call it.
func timedGet(url string) (time.Duration, error) {
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		return time.Since(start), err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	took := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d, want 200", url, resp.StatusCode)
	}
	return took, err
}

// waitFor polls cond until it holds, and fails the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
