package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
)

// TestWarmUp: after the warm-up, the READMEs' repositories answer at once,
// without the stand-in's first 202.
func TestWarmUp(t *testing.T) {
	server := httptest.NewServer(fakegithub.New(fakegithub.Options{ComputeCalls: 1}))
	defer server.Close()
	(&runner{}).warmUp(server.URL)
	for _, repo := range append(readmeRepos, "some/other") {
		resp, err := http.Get(server.URL + "/repos/" + repo + "/stats/contributors")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if repo == "some/other" {
			want = http.StatusAccepted
		}
		if resp.StatusCode != want {
			t.Errorf("%s after the warm-up: %s, want %d", repo, resp.Status, want)
		}
	}
}
