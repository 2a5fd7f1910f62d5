package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

func TestAndList(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"cleaner"}, "cleaner"},
		{[]string{"gateway", "cleaner"}, "gateway and cleaner"},
		{[]string{"gateway", "contributors", "cleaner"}, "gateway, contributors and cleaner"},
	} {
		if got := andList(tc.names); got != tc.want {
			t.Errorf("andList(%q) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

// stepRunner is a runner of step n that runs nothing, for its messages.
func stepRunner(t *testing.T, n string, cfg config) *runner {
	t.Helper()
	step, err := findStep(n)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Step = step
	return &runner{cfg: cfg, programPorts: map[string]int{}, jaeger: &stack.Jaeger{QueryURL: "http://127.0.0.1:16686"}}
}

// TestStatusListsTheStandInGitHub: status names every part the learner
// calls, the stand-in GitHub (which runs inside the runner) included.
func TestStatusListsTheStandInGitHub(t *testing.T) {
	r := stepRunner(t, "7", config{GitHubPort: 9393})
	if status := r.status(); !strings.Contains(status, "github        running in the runner (127.0.0.1:9393), the stand-in") {
		t.Errorf("status lacks the stand-in GitHub:\n%s", status)
	}
	r = stepRunner(t, "7", config{GitHubURL: "https://api.github.com/"})
	if status := r.status(); !strings.Contains(status, "github        https://api.github.com/ (from GITHUB_API_URL)") {
		t.Errorf("status lacks the learner's GitHub:\n%s", status)
	}
}

// TestURLsGiveTheRedisCLIPort: when 6379 was taken and Redis moved, the
// runner's list of addresses has a redis-cli command that finds it.
func TestURLsGiveTheRedisCLIPort(t *testing.T) {
	for _, port := range []int{6379, 40123} {
		r := stepRunner(t, "7", config{RedisPort: port})
		want := "redis-cli -p " + strconv.Itoa(port) + ")"
		if urls := r.urls(); !strings.Contains(urls, want) {
			t.Errorf("Redis on %d: the addresses lack %q:\n%s", port, want, urls)
		}
	}
	if urls := stepRunner(t, "5", config{RedisPort: 6379}).urls(); strings.Contains(urls, "redis-cli") {
		t.Errorf("step 5 runs no Redis, yet:\n%s", urls)
	}
}
