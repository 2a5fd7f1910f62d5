package main

import (
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// TestGitHubURLPrintedWithoutPassword: the runner prints where GitHub is,
// but not a user:password@ from GITHUB_API_URL.
func TestGitHubURLPrintedWithoutPassword(t *testing.T) {
	step, err := findStep("7")
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{
		cfg:          config{Step: step, GitHubURL: "https://x:" + secret + "@github.example.com/api/v3/", RedisPort: 6379},
		programPorts: map[string]int{},
		jaeger:       &stack.Jaeger{QueryURL: "http://127.0.0.1:16686"},
	}
	got := r.urls()
	if strings.Contains(got, secret) {
		t.Errorf("the runner prints GITHUB_API_URL's password:\n%s", got)
	}
	if !strings.Contains(got, "https://github.example.com/api/v3/") {
		t.Errorf("the runner does not say where GitHub is:\n%s", got)
	}
}
