package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/redisping"
)

// startFakeGitHub runs cmd/fakegithub, a small real program, and returns
// it and its stats URL.
func startFakeGitHub(t *testing.T) (*Process, string) {
	t.Helper()
	binary := Build(t, "../../../cmd/fakegithub")
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	p := Start(t, "fakegithub", binary, map[string]string{"E2E_TEST": "1"}, "-addr", addr, "-compute-calls", "0")
	url := "http://" + addr + "/repos/golang/go/stats/contributors"
	p.WaitHealthy(t, url)
	return p, url
}

func get(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func TestStartStop(t *testing.T) {
	p, url := startFakeGitHub(t)
	if !strings.Contains(p.Output(), "listening") {
		t.Errorf("output lacks the program's log line: %q", p.Output())
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := get(url); err == nil {
		t.Error("program still answers after Stop")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestBuildOnce(t *testing.T) {
	a := Build(t, "../../../cmd/fakegithub")
	start := time.Now()
	b := Build(t, "../../../cmd/fakegithub")
	if took := time.Since(start); a != b || took > 100*time.Millisecond {
		t.Errorf("second Build = %s in %s, want %s from the cache", b, took, a)
	}
	// The cache is keyed by absolute directory or by import path, as
	// given: an import path is an entry of its own, built once too.
	c := Build(t, "github.com/tracing-tutorial/tutorial/cmd/fakegithub")
	if c == "" || c == a {
		t.Errorf("import-path Build = %q, want a binary of its own (the directory's is %s)", c, a)
	}
	if info, err := os.Stat(c); err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		t.Errorf("import-path binary %s: %v, %v", c, info, err)
	}
	start = time.Now()
	d := Build(t, "github.com/tracing-tutorial/tutorial/cmd/fakegithub")
	if took := time.Since(start); d != c || took > 100*time.Millisecond {
		t.Errorf("second import-path Build = %s in %s, want %s from the cache", d, took, c)
	}
}

func TestKillRestart(t *testing.T) {
	p, url := startFakeGitHub(t)
	p.Kill()
	if _, err := get(url); err == nil {
		t.Fatal("program answers after Kill")
	}
	p.Restart(t)
	p.WaitHealthy(t, url)
	if !strings.Contains(p.Output(), "restarted") {
		t.Errorf("no restart marker in output:\n%s", p.Output())
	}
	// Restart of a running process stops it first: the old process is
	// gone, and a new one answers on the port.
	oldExited, oldPid := p.Exited(), p.Pid()
	p.Restart(t)
	select {
	case <-oldExited:
	default:
		t.Fatalf("process %d still running after Restart", oldPid)
	}
	if err := syscall.Kill(oldPid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d after Restart: kill 0 = %v, want ESRCH (gone)", oldPid, err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", oldPid)); err == nil && procMounted() {
		t.Errorf("/proc/%d still exists after Restart", oldPid)
	}
	newPid := p.Pid()
	if newPid == oldPid {
		t.Fatalf("Restart kept process %d", oldPid)
	}
	p.WaitHealthy(t, url)
	_, portText, _ := net.SplitHostPort(strings.Split(strings.TrimPrefix(url, "http://"), "/")[0])
	port, _ := strconv.Atoi(portText)
	if ok, err := ports.Listening(newPid, port); !ok || err != nil {
		t.Errorf("new process %d does not listen on port %d: %v", newPid, port, err)
	}
}

func TestEnvironmentIsAdded(t *testing.T) {
	t.Setenv("E2E_FROM_TEST", "inherited")
	p := Start(t, "sh", "/bin/sh", map[string]string{"E2E_ADDED": "added"},
		"-c", `echo "$E2E_FROM_TEST $E2E_ADDED"`)
	if err := p.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(p.Output()); got != "inherited added" {
		t.Errorf("output %q, want %q", got, "inherited added")
	}
}

func TestWaitReportsExitStatus(t *testing.T) {
	p := Start(t, "sh", "/bin/sh", nil, "-c", "echo refusing >&2; exit 3")
	err := p.Wait(5 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Wait = %v, want exit status 3", err)
	}
	if p.Output() != "refusing\n" {
		t.Errorf("stderr not captured: %q", p.Output())
	}
}

func TestStopReportsUnexpectedExit(t *testing.T) {
	p := Start(t, "sh", "/bin/sh", nil, "-c", "exit 4")
	<-p.Exited()
	if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "exited on its own") {
		t.Errorf("Stop of a crashed process = %v", err)
	}
}

func TestStopKillsAfterTimeout(t *testing.T) {
	defer func(d time.Duration) { stopTimeout = d }(stopTimeout)
	stopTimeout = 300 * time.Millisecond

	// A shell that ignores SIGTERM must be killed, and Stop must say so.
	p := Start(t, "stubborn", "/bin/sh", nil, "-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.Output(), "ready"); {
		if time.Now().After(deadline) {
			t.Fatal("shell not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	err := p.Stop()
	if err == nil || !strings.Contains(err.Error(), "did not exit") {
		t.Errorf("Stop = %v, want a timeout", err)
	}
	if took := time.Since(start); took < stopTimeout || took > stopTimeout+2*time.Second {
		t.Errorf("Stop took %s", took)
	}
}

func TestRedis(t *testing.T) {
	r := Redis(t)
	wantOwnRedis(t, r)
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := redisping.Ping(r.Addr()); err == nil {
		t.Fatal("Redis answers after Stop")
	}
	r.Restart(t)
	wantOwnRedis(t, r) // the new process
	r.Kill()
	r.Restart(t)
	wantOwnRedis(t, r)
}

func TestGitHub(t *testing.T) {
	server, url := GitHub(t, fakegithub.Options{})
	if !strings.HasSuffix(url, "/") {
		t.Errorf("URL %q lacks the trailing slash", url)
	}
	resp, err := http.Get(url + "repos/golang/go/stats/contributors")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Fake-GitHub") == "" {
		t.Error("not the stand-in GitHub")
	}
	if len(server.Requests()) != 1 {
		t.Errorf("%d requests recorded, want 1", len(server.Requests()))
	}
}

func TestJaeger(t *testing.T) {
	start := time.Now()
	j := Jaeger(t)
	t.Logf("Jaeger ready in %s", time.Since(start).Round(time.Millisecond))
	if Jaeger(t) != j {
		t.Error("second call started another Jaeger")
	}
	if code, err := get(j.QueryURL + "/api/services"); err != nil || code != http.StatusOK {
		t.Errorf("query API: %d, %v", code, err)
	}
	if !strings.HasPrefix(j.CollectorEndpoint, "http://127.0.0.1:") || !strings.HasPrefix(j.AgentHostPort, "127.0.0.1:") {
		t.Errorf("not on loopback: %s, %s", j.CollectorEndpoint, j.AgentHostPort)
	}
}

// procMounted reports whether /proc describes processes (Linux).
func procMounted() bool {
	_, err := os.Stat("/proc/self")
	return err == nil
}
