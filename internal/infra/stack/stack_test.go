package stack

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

func TestMain(m *testing.M) {
	code := m.Run()
	KillAll() // whatever a failed test left running
	os.Exit(code)
}

func step(t *testing.T, n int) topology.Step {
	t.Helper()
	s, err := topology.Find(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStartStep7 brings step 7 up on free ports, with a Jaeger, a Redis
// and the stand-in of its own, sends a request through all three
// programs, and stops it all.
func TestStartStep7(t *testing.T) {
	if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
		t.Skip("no redis-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Start(ctx, step(t, 7), Options{RunTag: NewRunTag()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if got := slices.Sorted(func(yield func(string) bool) {
		for name := range s.Programs {
			yield(name)
		}
	}); !slices.Equal(got, []string{"cleaner", "contributors", "gateway"}) {
		t.Errorf("programs %v", got)
	}
	if s.Redis == nil || s.GitHub == nil || s.AllInOne == nil || s.URL != s.URLs["gateway"] {
		t.Fatalf("parts missing: redis %v, github %v, jaeger %v, URL %q", s.Redis, s.GitHub, s.AllInOne, s.URL)
	}
	resp, err := http.Get(s.URL + "/git/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Trace-Id") == "" {
		t.Errorf("GET /git/golang/go: %s, X-Trace-Id %q", resp.Status, resp.Header.Get("X-Trace-Id"))
	}
	if len(s.GitHub.Requests()) == 0 {
		t.Error("the stand-in GitHub had no request")
	}
	gateway := s.Programs["gateway"]
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if gateway.Running() || s.Redis.Running() {
		t.Error("Stop left the gateway or Redis running")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "http://"), time.Second); err == nil {
		t.Error("the gateway's port still answers after Stop")
	}
}

// TestStartMissing: a copy not split into the step's programs is a
// MissingError that names what is missing, before anything starts.
func TestStartMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(context.Background(), step(t, 7), Options{Dir: dir})
	var missing *MissingError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "gateway/, contributors/, cleaner/") {
		t.Errorf("Start in an empty folder: %v; want a MissingError naming the three folders", err)
	}
}

// TestFixedPortTaken: a fixed port that is taken fails the start, rather
// than a program listening somewhere else than asked.
func TestFixedPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", ports.Loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), step(t, 1), Options{Ports: map[string]int{"step1": port}})
	if err == nil || !strings.Contains(err.Error(), "step1") {
		t.Errorf("Start on a taken port: %v; want step1's failure", err)
	}
}

func TestProgramEnv(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "secret")
	t.Setenv("REPLY_TIMEOUT", "7s")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "other secret")
	t.Setenv("JAEGER_SAMPLER_TYPE", "const")
	step7 := step(t, 7)
	contributors := step7.Programs[1]
	wiring := map[string]string{"GITHUB_API_URL": "http://127.0.0.1:1/", "JAEGER_ENDPOINT": "http://127.0.0.1:2/api/traces"}
	for _, tc := range []struct {
		github    string
		wantToken bool
	}{
		{"", false}, // the stand-in
		{"http://example.com/", false},
		{"https://api.github.com/", true},
	} {
		s := &Stack{Step: step7, JaegerUI: "http://127.0.0.1:3", RunTag: "abc", opts: Options{
			GitHubURL:  tc.github,
			Env:        map[string]string{"BAD_THINGS": "off"},
			ProgramEnv: map[string]map[string]string{"contributors": {"BAD_THINGS": "on"}},
		}}
		env := envMap(s.programEnv(contributors, wiring, 4242))
		want := map[string]string{
			"PORT": "4242", "HOST": "127.0.0.1", "REPLY_TIMEOUT": "7s", "JAEGER_SAMPLER_TYPE": "const",
			"JAEGER_REPORTER_FLUSH_INTERVAL": "100ms", "JAEGER_UI": "http://127.0.0.1:3",
			"JAEGER_TAGS": RunTagKey + "=abc", "BAD_THINGS": "on", "PATH": os.Getenv("PATH"),
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("GitHub %q: %s=%q, want %q", tc.github, k, env[k], v)
			}
		}
		if tc.github != "" && env["GITHUB_API_URL"] != tc.github {
			t.Errorf("GITHUB_API_URL=%q, want the learner's %q", env["GITHUB_API_URL"], tc.github)
		}
		if _, ok := env["GITHUB_TOKEN"]; ok != tc.wantToken {
			t.Errorf("GitHub %q: GITHUB_TOKEN passed: %v, want %v", tc.github, ok, tc.wantToken)
		}
		if _, ok := env["AWS_SECRET_ACCESS_KEY"]; ok {
			t.Error("another secret of the shell reached a program")
		}
	}
}
