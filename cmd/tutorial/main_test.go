package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// TestStep7 runs what `make run STEP=7` runs, on free ports, and stops it
// as Ctrl-C would.
func TestStep7(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jaeger, Redis and three programs")
	}
	needProc(t)
	e2e.RedisServerPath(t)
	// The first build of Jaeger takes minutes; not the runner's to time.
	if _, err := jaeger.Binary(t.Context(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t, 3)
	ports := map[string]int{
		"-port": port, "-jaeger-port": e2e.FreePort(t), "-collector-port": e2e.FreePort(t),
		"-redis-port": e2e.FreePort(t), "-github-port": e2e.FreePort(t),
	}
	args := []string{"run", "-agent-port", "0"}
	for flag, port := range ports {
		args = append(args, flag, strconv.Itoa(port))
	}
	run := startTutorial(t, append(args, "7")...)
	run.waitFor(t, "Ctrl-C stops everything.", 3*time.Minute)

	started := run.children(t)
	var names []string
	for _, p := range started {
		names = append(names, p.name)
	}
	for _, want := range []string{"jaeger", "redis-server", "gateway", "contributors", "cleaner"} {
		if !slices.Contains(names, want) {
			t.Errorf("processes started: %v, want a %s", names, want)
		}
	}

	trace := section(run.output(), "Trace ")
	if !strings.Contains(trace, "3 services") {
		t.Errorf("trace:\n%s\nwant one of 3 services", trace)
	}
	for _, service := range []string{"gateway", "contributors", "cleaner"} {
		if !strings.Contains(trace, service+" ") {
			t.Errorf("trace:\n%s\nnames no span of %s", trace, service)
		}
	}

	// The propagation experiment, as printed, puts the contributors'
	// spans in the trace of our choosing.
	experiment := regexp.MustCompile(`curl -s -o /dev/null -H 'uber-trace-id: (\S+)' (\S+)\n`).FindStringSubmatch(run.output())
	if experiment == nil {
		t.Error("no propagation experiment in the hints")
	} else {
		req, _ := http.NewRequest(http.MethodGet, experiment[2], nil)
		req.Header.Set("uber-trace-id", experiment[1])
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("the propagation experiment: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client := &jaeger.Client{QueryURL: "http://127.0.0.1:" + strconv.Itoa(ports["-jaeger-port"])}
		trace, err := client.WaitForTrace(ctx, ownTraceID, func(tr jaeger.Trace) bool { return len(tr.Spans) > 0 })
		if err != nil || trace.ServiceName(trace.Spans[0]) != "contributors" {
			t.Errorf("no contributors' span in trace %s: %v", ownTraceID, err)
		}
	}

	// The trace's link opens the tutorial's viewer, and cmd/trace finds
	// this Jaeger on its port.
	jaegerURL := "http://127.0.0.1:" + strconv.Itoa(ports["-jaeger-port"])
	traceID := regexp.MustCompile(`X-Trace-Id: ([0-9a-f]+)`).FindStringSubmatch(run.output())
	if traceID == nil || !strings.Contains(run.output(), "In a browser: "+jaegerURL+"/trace/"+traceID[1]+"\n") {
		t.Errorf("no link to the trace in the viewer at %s", jaegerURL)
	}
	if !strings.Contains(run.output(), "Jaeger keeps\ntraces in memory only") {
		t.Error("does not say that Jaeger keeps traces in memory only")
	}
	record := runningRecord(t, run.Pid())
	if data, err := os.ReadFile(record); err != nil || !strings.Contains(string(data), `"query_url":"`+jaegerURL+`"`) {
		t.Errorf("no record of this Jaeger for cmd/trace: %v %s", err, data)
	}

	run.interrupt(t)
	if !strings.Contains(run.output(), "Stopped: nothing left running.") {
		t.Errorf("output after Ctrl-C:\n%s", proc.LastLines(run.output(), 10))
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("the record of this Jaeger is left after Ctrl-C")
	}
	// Stopped by SIGTERM, not killed when the runner exited (Pdeathsig).
	for _, service := range []string{"gateway", "contributors", "cleaner"} {
		if !regexp.MustCompile(`(?m)^` + service + ` +\| .*msg="shutting down"`).MatchString(run.output()) {
			t.Errorf("%s did not log that it was shutting down", service)
		}
	}
	checkGone(t, started, append(slices.Collect(maps.Values(ports)), port+1, port+2))
}

// TestStep1 runs step 1: no Jaeger, the answer but no trace, and how to go
// on.
func TestStep1(t *testing.T) {
	needProc(t)
	port, github := e2e.FreePort(t), e2e.FreePort(t)
	run := startTutorial(t, "run", "-port", strconv.Itoa(port), "-github-port", strconv.Itoa(github))
	run.waitFor(t, "Ctrl-C stops everything.", 2*time.Minute)

	out := run.output()
	for _, want := range []string{"Step 1 (step1-monolith)", "200 OK", "contributors; most commits:", "make run STEP=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output:\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "Trace ") || strings.Contains(out, "Jaeger") {
		t.Errorf("step 1 output mentions Jaeger or a trace:\n%s", out)
	}
	started := run.children(t)
	if len(started) != 1 || started[0].name != "step1-monolith" {
		t.Errorf("processes started: %v, want step1-monolith alone", started)
	}
	run.interrupt(t)
	checkGone(t, started, []int{port, github})
}

// TestCtrlCSaysWhatItWaitsFor: Ctrl-C while a slow request is in flight
// says what the runner waits for, and that a second Ctrl-C stops at once.
func TestCtrlCSaysWhatItWaitsFor(t *testing.T) {
	needProc(t)
	// A GitHub of the test's own says when step 2 asks it for
	// torvalds/linux: the request is then in the program's hands. (One
	// only written to the socket may not be accepted yet, and a Ctrl-C
	// then finds nothing in flight.)
	asked := make(chan struct{}, 1)
	standIn := fakegithub.New(fakegithub.Options{})
	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/torvalds/linux/") {
			select {
			case asked <- struct{}{}:
			default:
			}
		}
		standIn.ServeHTTP(w, r)
	}))
	defer github.Close()
	port := e2e.FreePort(t)
	run := startTutorialEnv(t, []string{"GITHUB_API_URL=" + github.URL + "/"}, "run", "-port", strconv.Itoa(port), "2")
	run.waitFor(t, "Ctrl-C stops everything.", 2*time.Minute)
	if !strings.Contains(run.output(), "(for repo in torvalds/linux golang/go; do curl") {
		t.Error("the hints lack the slow pair's command")
	}

	// torvalds/linux takes seconds in step 2: the "reindex" of its 86
	// contributors.
	go func() {
		if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/git/torvalds/linux"); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("step 2 did not ask GitHub for torvalds/linux within 30 s")
	}
	run.interrupt(t)
	out := run.output()
	for _, want := range []string{"Waiting for step2 to stop: a program finishes the requests it has in flight first", "Ctrl-C again stops everything at once."} {
		if !strings.Contains(out, want) {
			t.Errorf("output after Ctrl-C:\n%s\nwant %q", proc.LastLines(out, 8), want)
		}
	}
}

// runningRecord is where the runner pid records its Jaeger for cmd/trace.
func runningRecord(t *testing.T, pid int) string {
	t.Helper()
	cache, err := paths.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cache, "running", strconv.Itoa(pid)+".json")
}

func TestBadStepListsTheSteps(t *testing.T) {
	for _, step := range []string{strconv.Itoa(len(topology.Steps()) + 1), "seven"} {
		run := startTutorial(t, "run", step)
		code := run.wait(t)
		out := run.output()
		if code != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "1 (step1-monolith)") || !strings.Contains(out, "7 (step7-distributed-multi-span)") {
			t.Errorf("run %s: exit %d, output:\n%s\nwant exit 2 and one line listing the steps", step, code, out)
		}
	}
}

func TestTakenPortSaysWhichAndWhatToDo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	run := startTutorial(t, "run", "-port", port, "-github-port", "0", "1")
	code := run.wait(t)
	out := run.output()
	for _, want := range []string{port + " (step1)", "-port", "still running"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, want)
		}
	}
}

// tutorial is a run of the command, in a process group of its own as a
// terminal would start it.
type tutorial struct {
	*proc.Process
	out proc.Buffer
}

func startTutorial(t *testing.T, args ...string) *tutorial {
	t.Helper()
	return startTutorialEnv(t, nil, args...)
}

// startTutorialEnv starts it with env added to the test's environment.
func startTutorialEnv(t *testing.T, env []string, args ...string) *tutorial {
	t.Helper()
	binary := e2e.Build(t, ".")
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = root // where make runs it
	cmd.Env = []string{"COLUMNS=200", "NO_COLOR=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_API_URL=") { // the stand-in, always
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	run := &tutorial{}
	if run.Process, err = proc.Start("tutorial", &run.out, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A failed test: kill it, and its Pdeathsig everything it started.
		run.Kill()
		if t.Failed() {
			t.Logf("output of tutorial %s:\n%s", strings.Join(args, " "), run.output())
		}
	})
	return run
}

func (r *tutorial) output() string { return r.out.String() }

func (r *tutorial) waitFor(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(r.output(), text) {
		select {
		case <-r.Exited():
			t.Fatalf("exited (exit status %d) before printing %q", r.ExitCode(), text)
		case <-deadline:
			t.Fatalf("no %q after %s", text, timeout)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// interrupt sends SIGINT, as Ctrl-C does, and expects a clean exit.
func (r *tutorial) interrupt(t *testing.T) {
	t.Helper()
	r.Signal(syscall.SIGINT)
	if code := r.wait(t); code != 0 {
		t.Errorf("exit status %d after Ctrl-C, want 0", code)
	}
}

func (r *tutorial) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.Exited():
		return r.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s later")
		return -1
	}
}

// procEntry is a process as /proc shows it.
type procEntry struct {
	pid, ppid, pgid int
	name            string
}

func (p procEntry) String() string {
	return fmt.Sprintf("%s (pid %d, group %d)", p.name, p.pid, p.pgid)
}

// needProc skips t where there is no /proc to list processes with (not
// Linux): a test that checks what it started and stopped calls it before
// starting anything. On Linux, CI's, it never skips.
func needProc(t *testing.T) {
	t.Helper()
	if _, err := os.ReadDir("/proc"); err != nil {
		t.Skip("no /proc to list processes with:", err)
	}
}

// processes lists every process of the machine. The test called needProc
// before starting anything.
func processes(t *testing.T) []procEntry {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal("listing processes:", err)
	}
	var procs []procEntry
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[close+1:]))
		if open < 0 || close < open || len(fields) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		pgid, _ := strconv.Atoi(fields[2])
		procs = append(procs, procEntry{pid: pid, ppid: ppid, pgid: pgid, name: string(stat[open+1 : close])})
	}
	return procs
}

// children lists the processes the run started.
func (r *tutorial) children(t *testing.T) []procEntry {
	t.Helper()
	var children []procEntry
	for _, p := range processes(t) {
		if p.ppid == r.Pid() {
			children = append(children, p)
		}
	}
	return children
}

// checkGone fails t if a process of the groups of started is left, or a
// port is still taken.
func checkGone(t *testing.T, started []procEntry, taken []int) {
	t.Helper()
	groups := map[int]bool{}
	for _, p := range started {
		groups[p.pgid] = true
	}
	for _, p := range processes(t) {
		if groups[p.pgid] {
			t.Errorf("left running: %v", p)
		}
	}
	for _, port := range taken {
		if err := ports.InUse(port, false); err != nil {
			t.Errorf("port %d still taken: %v", port, err)
		}
	}
}

// freePorts returns the first of n consecutive ports free on 127.0.0.1.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		first := e2e.FreePort(t)
		free := first+n-1 <= 65535
		for port := first + 1; free && port < first+n; port++ {
			free = ports.InUse(port, false) == nil
		}
		if free {
			return first
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// section returns the lines of out from the first that starts with
// prefix to the next empty line.
func section(out, prefix string) string {
	_, after, found := strings.Cut("\n"+out, "\n"+prefix)
	if !found {
		return ""
	}
	s, _, _ := strings.Cut(prefix+after, "\n\n")
	return s
}
