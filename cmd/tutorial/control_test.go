package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// secret stands for a GITHUB_TOKEN, and for anything else of the
// learner's environment that no program needs.
const secret = "ghp_not-a-real-token-0123456789"

// TestBreakItYourself runs step 7 and breaks it as a learner would, from
// another terminal: the runner keeps the rest running, says how to bring
// a part back, and brings it back on the same port.
func TestBreakItYourself(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jaeger, Redis and three programs")
	}
	needProc(t)
	e2e.RedisServerPath(t)
	if _, err := jaeger.Binary(t.Context(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t, 3)
	gateway := "http://127.0.0.1:" + strconv.Itoa(port)
	jaegerPort := e2e.FreePort(t)
	// REPLY_TIMEOUT reaches the gateway (a setting of the learner's);
	// GITHUB_TOKEN and the rest of the learner's environment reach no
	// program: they all talk to the stand-in GitHub.
	env := []string{"REPLY_TIMEOUT=12s", "GITHUB_TOKEN=" + secret, "LEARNERS_SECRET=" + secret}
	run := startTutorialEnv(t, env, "run", "-port", strconv.Itoa(port), "-jaeger-port", strconv.Itoa(jaegerPort),
		"-collector-port", "0", "-agent-port", "0", "-redis-port", strconv.Itoa(e2e.FreePort(t)),
		"-github-port", strconv.Itoa(e2e.FreePort(t)), "7")
	run.waitFor(t, "Ctrl-C stops everything.", 3*time.Minute)
	if !strings.Contains(run.output(), "go run ./cmd/tutorial kill cleaner") {
		t.Error("the hints do not say how to break the step")
	}

	t.Run("environment", func(t *testing.T) {
		for _, p := range run.children(t) {
			environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "environ"))
			if err != nil {
				t.Fatal(err)
			}
			vars := strings.Split(string(environ), "\x00")
			if bytes.Contains(environ, []byte(secret)) {
				t.Errorf("%v got the learner's secrets: %q", p, vars)
			}
			// redis-server writes its title over its environment.
			if p.name != "redis-server" && !strings.Contains(string(environ), "PATH=") {
				t.Errorf("%v has no PATH", p)
			}
			if want := "REPLY_TIMEOUT=12s"; p.name == "gateway" && !strings.Contains(string(environ), want) {
				t.Errorf("the gateway has no %s: %q", want, vars)
			}
		}
	})

	// Killed as a crash would: the rest runs on. A job queued meanwhile
	// waits in Redis and is answered once the cleaner is back.
	out, code := runControl(t, run, "kill", "cleaner")
	if code != 0 || !strings.Contains(out, "cleaner killed") || !strings.Contains(out, "go run ./cmd/tutorial restart cleaner") {
		t.Errorf("kill cleaner: exit %d\n%s", code, out)
	}
	alive(t, run)
	answer := make(chan int, 1)
	from := run.out.Len()
	go func() { answer <- get(t, gateway+"/git/golang/go") }()
	waitForLog(t, run, from, "contributors | ", "path=/stats/golang/go", 10*time.Second)
	if out, code := runControl(t, run, "restart", "cleaner"); code != 0 || !strings.Contains(out, "127.0.0.1:"+strconv.Itoa(port+2)) {
		t.Errorf("restart cleaner: exit %d\n%s\nwant it on its port, %d", code, out, port+2)
	}
	if status := <-answer; status != http.StatusOK {
		t.Errorf("the request queued while the cleaner was dead: %d, want 200 once it is back", status)
	}

	// Crashed, killed by nobody the runner knows: it says what died and
	// how to bring it back, and keeps the rest running.
	pid := partPid(t, run, "cleaner")
	syscall.Kill(pid, syscall.SIGKILL)
	run.waitFor(t, "cleaner died (signal: killed). The rest keeps running.\nBring it back: go run ./cmd/tutorial restart cleaner\n", 10*time.Second)
	alive(t, run)
	if status := get(t, gateway+"/git/golang/go"); status != http.StatusGatewayTimeout {
		t.Errorf("with the cleaner dead: %d, want 504 after REPLY_TIMEOUT", status)
	}
	if _, code := runControl(t, run, "restart", "cleaner"); code != 0 {
		t.Errorf("restart cleaner: exit %d", code)
	}
	if status := get(t, gateway+"/git/golang/go"); status != http.StatusOK {
		t.Errorf("with the cleaner back: %d, want 200", status)
	}

	// Redis hung, then going on: 503, then 200 again.
	if out, code := runControl(t, run, "pause", "redis"); code != 0 || !strings.Contains(out, "resume redis") {
		t.Errorf("pause redis: exit %d\n%s", code, out)
	}
	if status := get(t, gateway+"/git/golang/go"); status != http.StatusServiceUnavailable {
		t.Errorf("with Redis paused: %d, want 503", status)
	}
	if status, _ := runControl(t, run, "status"); !strings.Contains(status, "redis         paused") {
		t.Errorf("status does not show Redis paused:\n%s", status)
	}
	if _, code := runControl(t, run, "resume", "redis"); code != 0 {
		t.Errorf("resume redis: exit %d", code)
	}
	eventuallyOK(t, gateway+"/git/golang/go")

	// Jaeger restarted on its port: its traces are gone, and it says so;
	// new ones arrive.
	out, code = runControl(t, run, "restart", "jaeger")
	if code != 0 || !strings.Contains(out, "traces in memory only: the ones it had are gone") {
		t.Errorf("restart jaeger: exit %d\n%s", code, out)
	}
	resp, err := http.Get(gateway + "/git/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	client := &jaeger.Client{QueryURL: "http://127.0.0.1:" + strconv.Itoa(jaegerPort)}
	if _, err := client.WaitForTrace(ctx, resp.Header.Get("X-Trace-Id"), func(tr jaeger.Trace) bool { return len(tr.Spans) > 0 }); err != nil {
		t.Errorf("no trace in the restarted Jaeger: %v", err)
	}

	// A name that is no part: the parts, and a failure.
	out, code = runControl(t, run, "stop", "database")
	if code != 1 || !strings.Contains(out, `no part "database"; its parts are gateway, contributors, cleaner, redis, jaeger`) {
		t.Errorf("stop database: exit %d\n%s\nwant exit 1 and the parts", code, out)
	}

	// Ctrl-C while a request waits for a stopped cleaner: the runner waits
	// for the gateway's drain, and the request gets its answer (a 504
	// after REPLY_TIMEOUT) rather than a connection cut at the runner's
	// whim.
	if out, code := runControl(t, run, "stop", "cleaner"); code != 0 || !strings.Contains(out, "cleaner stopped") {
		t.Errorf("stop cleaner: exit %d\n%s", code, out)
	}
	sent := make(chan struct{})
	from = run.out.Len()
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }}
		req, _ := http.NewRequest(http.MethodGet, gateway+"/git/golang/go", nil)
		resp, err := http.DefaultClient.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		if err != nil {
			t.Errorf("a request in flight at Ctrl-C: %v, want its answer", err)
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	<-sent
	waitForLog(t, run, from, "contributors | ", "path=/stats/golang/go", 10*time.Second)
	run.Signal(syscall.SIGINT)
	if status := <-answer; status != http.StatusGatewayTimeout {
		t.Errorf("a request in flight at Ctrl-C: %d, want 504", status)
	}
	if code := run.wait(t); code != 0 {
		t.Errorf("exit status %d after Ctrl-C, want 0", code)
	}
	if !strings.Contains(run.output(), "Stopped: nothing left running.") {
		t.Errorf("output after Ctrl-C: %s", run.output())
	}
	if _, code := runControl(t, run, "status"); code != 1 {
		t.Errorf("status after the step stopped: exit %d, want 1", code)
	}
}

// TestNoStepRunning: a clear error, and a failure, when no step runs; the
// usage when the part is missing.
func TestNoStepRunning(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", t.TempDir())
	out, code := runControl(t, nil, "stop", "cleaner")
	if code != 1 || !strings.Contains(out, "no step is running") || !strings.Contains(out, "make run STEP=7") {
		t.Errorf("exit %d\n%s\nwant exit 1 and how to start a step", code, out)
	}
	out, code = runControl(t, nil, "kill")
	if code != 2 || !strings.Contains(out, "usage: tutorial VERB PART") {
		t.Errorf("kill without a part: exit %d\n%s\nwant exit 2 and the usage", code, out)
	}
}

// runControl runs `tutorial args...` against run (nil: whichever runs), and
// returns its output, stdout then stderr, and its exit status.
func runControl(t *testing.T, run *tutorial, args ...string) (string, int) {
	t.Helper()
	if run != nil {
		args = append(args, "-pid", strconv.Itoa(run.Pid()))
	}
	cmd := exec.Command(e2e.Build(t, "."), args...)
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return stdout.String() + stderr.String(), cmd.ProcessState.ExitCode()
}

// alive fails t if the runner has exited.
func alive(t *testing.T, run *tutorial) {
	t.Helper()
	if !run.Running() {
		t.Fatalf("the runner exited (status %d):\n%s", run.ExitCode(), run.output())
	}
}

// partPid is the pid of part name, as status shows it.
func partPid(t *testing.T, run *tutorial, name string) int {
	t.Helper()
	status, _ := runControl(t, run, "status")
	m := regexp.MustCompile(`(?m)^  ` + name + ` +running \(pid (\d+),`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("status shows no %s running:\n%s", name, status)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// get returns the status of a GET of url.
func get(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eventuallyOK waits until url answers 200.
func eventuallyOK(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status := get(t, url)
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d", url, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitForLog waits for a line of the runner's output, after its first
// from bytes, that starts with prefix and holds text.
func waitForLog(t *testing.T, run *tutorial, from int, prefix, text string, timeout time.Duration) {
	t.Helper()
	pattern := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `.*` + regexp.QuoteMeta(text))
	deadline := time.After(timeout)
	for !pattern.MatchString(run.output()[from:]) {
		select {
		case <-deadline:
			t.Fatalf("no %q line with %q after %s", prefix, text, timeout)
		case <-time.After(25 * time.Millisecond):
		}
	}
}
