package stepsuite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// TestMonolith runs what every one-program step from 2 on keeps besides
// its lesson, on the program built from dir: the BAD_THINGS switch, and
// in the traced steps (3 on) how tracing behaves when things go wrong:
// spans flushed on shutdown, Jaeger down, a client's broken trace header.
func TestMonolith(t *testing.T, n int, dir string) {
	t.Run("bad things switch", func(t *testing.T) { testBadThings(t, n, dir) })
	l, err := lesson.For(n)
	if err != nil {
		return // an untraced step: nothing more to test
	}
	first := l.Requests[0]
	t.Run("spans flushed on shutdown", func(t *testing.T) { testFlushOnShutdown(t, n, dir, first) })
	t.Run("Jaeger unreachable", func(t *testing.T) { testJaegerUnreachable(t, n, dir, first) })
	t.Run("malformed trace header", func(t *testing.T) { testMalformedHeader(t, n, dir, first) })
}

// start is Start for a step's own code, which has all its programs.
func start(t *testing.T, n int, dir string, opts Options) *Stack {
	t.Helper()
	stack, problems := Start(t, n, dir, opts)
	if problems != nil {
		t.Fatal(strings.Join(problems, "\n"))
	}
	return stack
}

// testBadThings: in the real program, wild.go's misbehaviour is on by
// default (a big repository takes its 2 s rebuild of the login index), and
// BAD_THINGS=off switches it off.
func testBadThings(t *testing.T, n int, dir string) {
	for _, c := range []struct {
		name, value string
		slow        bool
	}{
		// Empty, as os.Getenv sees unset; it also overrides a BAD_THINGS
		// that go test itself may run with.
		{"unset", "", true},
		{"off", "off", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("step%d", n) // a one-program step's
			stack := start(t, n, dir, Options{ProgramEnv: map[string]map[string]string{name: {"BAD_THINGS": c.value}}})
			took, err := TimedGet(stack.URL + "/git/torvalds/linux")
			switch {
			case err != nil:
				t.Fatal(err)
			case c.slow && took < 2*time.Second:
				t.Errorf("BAD_THINGS=%q: torvalds/linux took %v, want at least 2s (the misbehaviour on)", c.value, took)
			case !c.slow && took >= time.Second:
				t.Errorf("BAD_THINGS=%q: torvalds/linux took %v, want well under 2s (the misbehaviour off)", c.value, took)
			}
		})
	}
}

// testFlushOnShutdown: with a flush interval of an hour, only closing the
// tracer on SIGTERM can get the spans to Jaeger.
func testFlushOnShutdown(t *testing.T, n int, dir string, r lesson.Request) {
	stack := start(t, n, dir, Options{Env: map[string]string{"JAEGER_REPORTER_FLUSH_INTERVAL": "1h"}})
	sent := stack.send(t, r)
	if sent.Problems != nil {
		t.Fatal(strings.Join(sent.Problems, "\n"))
	}
	// Until SIGTERM the spans wait in the tracer's buffer.
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		trace, err := stack.Jaeger.Client().Trace(ctx, sent.TraceID)
		cancel()
		if !errors.Is(err, jaeger.ErrNotFound) {
			t.Fatalf("before SIGTERM, Jaeger has trace %s: %d spans, %v; want it not found", sent.TraceID, len(trace.Spans), err)
		}
	}
	if err := stack.Public().Stop(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	problems, trace := stack.checkTrace(t, r, sent)
	for _, p := range problems {
		t.Errorf("the trace flushed on shutdown: %s", p)
	}
	tree := traceview.JaegerTree(trace)
	if t.Failed() {
		t.Logf("the trace:\n%s", tree)
	}
}

// testJaegerUnreachable: spans are dropped (and the drop is logged), the
// requests are not.
func testJaegerUnreachable(t *testing.T, n int, dir string, r lesson.Request) {
	nobody := fmt.Sprintf("http://127.0.0.1:%d/api/traces", e2e.FreePort(t))
	stack := start(t, n, dir, Options{Env: map[string]string{"JAEGER_ENDPOINT": nobody}})
	for range 3 {
		if status, _, body := getT(t, stack.URL+r.Path, nil); status != r.Status {
			t.Fatalf("GET %s = %d %s: want %d although Jaeger is down", r.Path, status, body, r.Status)
		}
	}
	program := stack.Public()
	if err := program.Stop(); err != nil {
		t.Errorf("SIGTERM with Jaeger down: %v", err)
	}
	if !strings.Contains(program.Output(), "level=ERROR msg=\"jaeger: ") {
		t.Errorf("the tracer did not log that it could not reach Jaeger:\n%s", program.Output())
	}
}

// testMalformedHeader: a client's broken uber-trace-id header gives a
// trace of the request's own, whole, with the request's span as its root.
func testMalformedHeader(t *testing.T, n int, dir string, r lesson.Request) {
	stack := start(t, n, dir, Options{})
	r.Header = map[string]string{"Uber-Trace-Id": "zzzz:not-hex:0:1"}
	r.NoOrphans = true
	sent := stack.send(t, r)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(sent.TraceID) {
		t.Errorf("X-Trace-Id = %q, want a new 128-bit trace ID", sent.TraceID)
	}
	problems, trace := stack.checkTrace(t, r, sent)
	for _, p := range problems {
		t.Error(p)
	}
	tree := traceview.JaegerTree(trace)
	roots := 0
	for _, line := range strings.Split(strings.TrimSpace(tree), "\n") {
		if !strings.HasPrefix(line, " ") {
			roots++
		}
	}
	if roots != 1 || !strings.HasPrefix(tree, "gateway: "+r.Spans[0].Operation+"\n") {
		t.Errorf("trace:\n%s\nwant the request's span as its only root", tree)
	}
}

// TimedGet sends GET url and reads the answer, and returns how long that
// took; an answer other than 200 is an error. Unlike contracttest.Get it
// does not stop the test, so goroutines may call it.
func TimedGet(url string) (time.Duration, error) {
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

// Wild is a one-program step's misbehaviour (wild.go), for TestInProcess.
type Wild struct {
	// On switches the misbehaviour on, with reindex as the time a rebuild
	// of the login index takes, and returns what switches it back.
	On func(reindex time.Duration) (undo func())
	// Held reports whether a request holds the login index lock.
	Held func() bool
}

// testWild shows step 2's mystery from the outside: a big repository is
// slow, and a small one asked for at the same time is slow too.
func testWild(t *testing.T, m Monolith) {
	const reindex = 300 * time.Millisecond
	t.Cleanup(m.On(reindex))
	github, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := m.Start(t, githubURL)

	if took, err := TimedGet(base + "/git/golang/go"); err != nil || took >= reindex {
		t.Errorf("a small repository alone took %v (%v), want it fast", took, err)
	}
	if took, err := TimedGet(base + "/git/torvalds/linux"); err != nil || took < reindex {
		t.Errorf("a big repository took %v (%v), want at least %v", took, err, reindex)
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
		took, err := TimedGet(base + "/git/torvalds/linux")
		big <- result{took, err}
	}()
	WaitFor(t, "the stand-in to get the torvalds/linux request", func() bool { return len(github.Requests()) > asked })
	WaitFor(t, "torvalds/linux to take the login index lock", m.Held)
	small, err := TimedGet(base + "/git/golang/go")
	if err != nil {
		t.Error(err)
	}
	if b := <-big; b.err != nil || b.took < reindex {
		t.Errorf("the big repository next to a small one took %v (%v), want at least %v", b.took, b.err, reindex)
	}
	if small < reindex/2 {
		t.Errorf("a small repository next to a big one took %v, want it held up", small)
	}
}

// WaitFor polls cond until it holds, and fails the test after 5 seconds.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
