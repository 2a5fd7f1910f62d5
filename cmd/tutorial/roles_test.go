package main

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// TestStep11RunsJaegersRoles runs step 11: Jaeger is three parts,
// storage, collector and query, which the learner breaks one at a time.
// The example's trace survives storage's restart, and the trace of a
// request made while query was dead is there when query is back.
func TestStep11RunsJaegersRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jaeger's three roles, Redis and three programs")
	}
	needProc(t)
	if _, err := jaeger.Binary(t.Context(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t, 3)
	gateway := "http://127.0.0.1:" + strconv.Itoa(port)
	jaegerPort := e2e.FreePort(t)
	run := startTutorial(t, "run", "-port", strconv.Itoa(port), "-jaeger-port", strconv.Itoa(jaegerPort),
		"-collector-port", "0", "-agent-port", "0", "-redis-port", strconv.Itoa(e2e.FreePort(t)),
		"-github-port", strconv.Itoa(e2e.FreePort(t)), "-color", "never", "11")
	run.waitFor(t, "Ctrl-C stops everything.", 3*time.Minute)
	out := run.output()
	if !strings.Contains(out, "starting Jaeger's storage, collector and query") || !strings.Contains(out, "the parts: gateway, contributors, cleaner, redis, storage, collector, query") {
		t.Errorf("the runner does not name Jaeger's roles:\n%s", out)
	}
	m := regexp.MustCompile(`X-Trace-Id: ([0-9a-f]{32})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no example trace:\n%s", out)
	}
	example := m[1]
	client := &jaeger.Client{QueryURL: "http://127.0.0.1:" + strconv.Itoa(jaegerPort)}
	found := func(id string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if _, err := client.WaitForTrace(ctx, id, func(tr jaeger.Trace) bool { return len(tr.Spans) >= 9 }); err != nil {
			t.Errorf("trace %s: %v", id, err)
		}
	}

	// Storage restarted: the example's trace is still there.
	if out, code := runControl(t, run, "restart", "storage"); code != 0 || !strings.Contains(out, "traces on disk") {
		t.Errorf("restart storage: exit %d\n%s", code, out)
	}
	found(example)

	// Query killed: requests and their spans go on; the trace is there
	// when query is back.
	if out, code := runControl(t, run, "kill", "query"); code != 0 || !strings.Contains(out, "Query keeps nothing") {
		t.Errorf("kill query: exit %d\n%s", code, out)
	}
	resp, err := http.Get(gateway + "/git/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with query dead: %d, want 200", resp.StatusCode)
	}
	time.Sleep(6 * time.Second) // the SDK sends its batch every 5 s
	if _, code := runControl(t, run, "restart", "query"); code != 0 {
		t.Errorf("restart query: exit %d", code)
	}
	found(resp.Header.Get("X-Trace-Id"))
	found(example)

	run.Signal(syscall.SIGINT)
	if code := run.wait(t); code != 0 {
		t.Errorf("exit status %d after Ctrl-C, want 0", code)
	}
}

// TestStep12SamplesAtTheTail runs step 12: the runner says why the
// example's trace may be missing, offers the sampling experiment, and the
// collector's tail sampler keeps every failed request's trace, which the
// programs' remote sampler sent (strategies.json says 1: every trace).
func TestStep12SamplesAtTheTail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jaeger's three roles, Redis and three programs")
	}
	needProc(t)
	if _, err := jaeger.Binary(t.Context(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t, 3)
	gateway := "http://127.0.0.1:" + strconv.Itoa(port)
	jaegerPort := e2e.FreePort(t)
	run := startTutorial(t, "run", "-port", strconv.Itoa(port), "-jaeger-port", strconv.Itoa(jaegerPort),
		"-collector-port", "0", "-agent-port", "0", "-redis-port", strconv.Itoa(e2e.FreePort(t)),
		"-github-port", strconv.Itoa(e2e.FreePort(t)), "-color", "never", "12")
	run.waitFor(t, "Ctrl-C stops everything.", 3*time.Minute)
	out := run.output()
	if !strings.Contains(out, "Sampling: 10 requests and 3 failed ones") || !strings.Contains(out, "step12-sampling/jaeger/strategies.json") {
		t.Errorf("the runner does not offer the sampling experiment:\n%s", out)
	}
	if strings.Contains(out, "unsupported sampler") {
		t.Errorf("a program calls its remote sampler unsupported:\n%s", out)
	}

	client := &jaeger.Client{QueryURL: "http://127.0.0.1:" + strconv.Itoa(jaegerPort)}
	for i := range 3 {
		resp, err := http.Get(gateway + "/git/broken/run" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Trace-Id")
		if resp.StatusCode != http.StatusBadGateway || id == "" {
			t.Fatalf("a failed request: %d, X-Trace-Id %q; want 502 and a trace sampled at the head", resp.StatusCode, id)
		}
		// decision_wait (5 s), then the collector's batch.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		_, err = client.WaitForTrace(ctx, id, func(jaeger.Trace) bool { return true })
		cancel()
		if err != nil {
			t.Errorf("the failed request's trace %s: %v; the tail sampler keeps every failed trace", id, err)
		}
	}

	run.Signal(syscall.SIGINT)
	if code := run.wait(t); code != 0 {
		t.Errorf("exit status %d after Ctrl-C, want 0", code)
	}
}
