package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
)

func init() {
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
}

func startApp(t *testing.T, token string) (*fakegithub.Server, string) {
	github := fakegithub.New(fakegithub.Options{ComputeCalls: 1, Record: true})
	githubServer := httptest.NewServer(github)
	t.Cleanup(githubServer.Close)
	app := &app{github: newGitHubClient(githubServer.URL+"/", token), githubTimeout: time.Second}
	server := httptest.NewServer(app.routes())
	t.Cleanup(server.Close)
	return github, server.URL
}

// TestRawStats: the contributors service passes GitHub's statistics on as
// they are (after waiting out the 202), deleted accounts included.
func TestRawStats(t *testing.T) {
	github, base := startApp(t, "secret")
	resp, err := http.Get(base + "/stats/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []struct {
		Author *struct{ Login string } `json:"author"`
		Total  int                     `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, decode: %v", resp.StatusCode, err)
	}
	want := fakegithub.Stats("golang", "go")
	if len(stats) != len(want) {
		t.Fatalf("%d contributors, want %d", len(stats), len(want))
	}
	for i := range want {
		if (stats[i].Author == nil) != (want[i].Author == nil) || stats[i].Total != want[i].Total {
			t.Errorf("contributor %d = %+v, want author %v total %d", i, stats[i], want[i].Author, want[i].Total)
		}
	}
	// Two requests: the 202 (statistics being computed), then the 200.
	requests := github.Requests()
	if len(requests) != 2 {
		t.Fatalf("GitHub got %d requests, want 2 (the 202, then the 200)", len(requests))
	}
	for i, h := range requests {
		if h.Get("Authorization") != "Bearer secret" {
			t.Errorf("request %d: Authorization = %q, want the token", i+1, h.Get("Authorization"))
		}
	}
}

func TestGitHubFailuresBecomeStatuses(t *testing.T) {
	_, base := startApp(t, "")
	for path, want := range map[string]int{
		"/stats/bad_owner/x": 400, "/stats/missing/x": 404, "/stats/too-many/x": 429,
		"/stats/computing/x": 502, "/stats/broken/x": 502, "/stats/slow/x": 504, "/nothing": 404,
		"/stats/x/../golang/go": 404, // not a redirect to /stats/golang/go
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want || body.Error == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s = %d %q, want %d with a JSON error", path, resp.StatusCode, body.Error, want)
		}
	}
}
