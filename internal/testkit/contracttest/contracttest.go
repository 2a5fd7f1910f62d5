// Package contracttest checks the contract that every step's program keeps
// (see the README): routes, JSON shapes, sorting, "ghost" for deleted
// accounts, and the status for every kind of bad input or upstream failure.
//
// Each step's tests call Run with a function that starts that step's
// program against a stand-in GitHub; the lesson-specific tests stay next to
// the step's code.
package contracttest

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
)

// Start starts the program under test, pointed at the GitHub API at
// githubURL with GITHUB_TOKEN set to Token, and returns the program's base
// URL. The program's whole GitHub fetch must time out well under
// fakegithub.SlowDelay (a second is plenty).
// Token is the GitHub token the program under test is configured with.
const Token = "contract-test-token"

type Start func(t *testing.T, githubURL string) (baseURL string)

// Response is the body of GET /git/{owner}/{repo}.
type Response struct {
	Repo         string        `json:"repo"`
	Contributors []Contributor `json:"contributors"`
	Error        string        `json:"error"`
}

// Contributor is one row of Response.
type Contributor struct {
	Login   string `json:"login"`
	Commits int    `json:"commits"`
}

// Run checks every row of the contract. The stand-in answers 202 to the
// first request for each repository, as GitHub does for a cold repository.
func Run(t *testing.T, start Start) {
	github := fakegithub.New(fakegithub.Options{ComputeCalls: 1, Record: true})
	githubServer := httptest.NewServer(github)
	t.Cleanup(githubServer.Close)
	base := start(t, githubServer.URL+"/")

	t.Run("healthz", func(t *testing.T) {
		t.Parallel()
		status, _, _ := Get(t, base+"/healthz")
		if status != http.StatusOK {
			t.Errorf("GET /healthz = %d, want 200", status)
		}
	})

	t.Run("contributors after a 202", func(t *testing.T) {
		t.Parallel()
		status, header, body := Get(t, base+"/git/golang/go")
		if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
			t.Fatalf("status %d, content type %q, want 200 application/json", status, header.Get("Content-Type"))
		}
		if body.Repo != "golang/go" {
			t.Errorf("repo = %q, want golang/go", body.Repo)
		}
		if want := Expected("golang", "go"); !slices.Equal(body.Contributors, want) {
			t.Errorf("contributors =\n%v\nwant\n%v", body.Contributors, want)
		}
	})

	t.Run("deleted accounts count as ghost", func(t *testing.T) {
		t.Parallel()
		_, _, body := Get(t, base+"/git/torvalds/linux")
		ghost := -1
		for _, c := range body.Contributors {
			if c.Login == "ghost" {
				ghost = c.Commits
			}
		}
		want := 0
		for _, s := range fakegithub.Stats("torvalds", "linux") {
			if s.Author == nil {
				want += s.Total
			}
		}
		if ghost != want {
			t.Errorf("ghost has %d commits, want %d (the sum of the null authors)", ghost, want)
		}
	})

	t.Run("token is sent as a bearer token", func(t *testing.T) {
		t.Parallel()
		Get(t, base+"/git/rust-lang/rust")
		requests := github.Requests()
		if len(requests) == 0 {
			t.Fatal("GitHub got no request")
		}
		for _, h := range requests {
			if got := h.Get("Authorization"); got != "Bearer "+Token {
				t.Errorf("Authorization = %q, want the bearer token", got)
			}
		}
	})

	t.Run("crafted statistics", func(t *testing.T) {
		t.Parallel()
		status, _, body := Get(t, base+"/git/overflow/repo")
		WantNoOverflow(t, status, body.Contributors)
	})

	t.Run("methods other than GET", func(t *testing.T) {
		t.Parallel()
		MethodNotAllowed(t, base)
	})

	failures := []struct {
		name, path string
		status     int
		message    string // part of the JSON error
	}{
		{"owner with an underscore", "/git/bad_owner/repo", 400, "invalid owner"},
		{"owner starting with a hyphen", "/git/-owner/repo", 400, "invalid owner"},
		{"owner too long", "/git/" + strings.Repeat("a", 40) + "/repo", 400, "invalid owner"},
		{"repo with a space", "/git/owner/re%20po", 400, "invalid repository"},
		{"repo too long", "/git/owner/" + strings.Repeat("r", 101), 400, "invalid repository"},
		{"unknown route", "/nothing/here", 404, "no such route"},
		{"repo GitHub does not have", "/git/missing/repo", 404, "not found"},
		{"secondary rate limit", "/git/too-many/repo", 429, "rate limit"},
		{"statistics never ready", "/git/computing/repo", 502, "computing"},
		{"GitHub fails", "/git/broken/repo", 502, "GitHub"},
		{"GitHub's answer is not JSON", "/git/garbled/repo", 502, "GitHub"},
		{"GitHub too slow", "/git/slow/repo", 504, "in time"},
	}
	// GitHub's rate limit counts every request of a token (or IP address),
	// and go-github remembers it: once exhausted, the program answers 429
	// for every repository until it resets, without asking GitHub again.
	// A program of its own keeps this from spoiling the other cases.
	t.Run("rate limit exhausted", func(t *testing.T) {
		t.Parallel()
		limited := start(t, githubServer.URL+"/")
		for _, path := range []string{"/git/rate-limited/repo", "/git/golang/go"} {
			status, header, body := Get(t, limited+path)
			if status != http.StatusTooManyRequests || !strings.Contains(body.Error, "rate limit") {
				t.Errorf("GET %s = %d %+v, want 429 naming the rate limit", path, status, body)
			}
			noAddress(t, body.Error, githubServer.URL)
			if seconds, err := strconv.Atoi(header.Get("Retry-After")); err != nil || seconds < 1 {
				t.Errorf("GET %s: Retry-After = %q, want a number of seconds", path, header.Get("Retry-After"))
			}
		}
	})

	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, body := Get(t, base+tc.path)
			if status != tc.status {
				t.Errorf("status = %d, want %d (body %+v)", status, tc.status, body)
			}
			if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
				t.Errorf("content type %q, want JSON", header.Get("Content-Type"))
			}
			if !strings.Contains(strings.ToLower(body.Error), strings.ToLower(tc.message)) {
				t.Errorf("error = %q, want it to mention %q", body.Error, tc.message)
			}
			noAddress(t, body.Error, githubServer.URL)
			if status == http.StatusTooManyRequests {
				if seconds, err := strconv.Atoi(header.Get("Retry-After")); err != nil || seconds < 1 {
					t.Errorf("Retry-After = %q, want a number of seconds", header.Get("Retry-After"))
				}
			}
		})
	}
}

// WantNoOverflow checks the answer for the stand-in's overflow/ owner
// (fakegithub.Overflow): 200, and counts that did not wrap round. A week
// with a negative count counts nothing; a sum past the largest int stops
// there.
func WantNoOverflow(t *testing.T, status int, got []Contributor) {
	t.Helper()
	want := []Contributor{{"big", math.MaxInt64}, {"ghost", math.MaxInt64}, {"negative", 3}}
	if status != http.StatusOK || !slices.Equal(got, want) {
		t.Errorf("crafted statistics: %d %v, want 200 %v", status, got, want)
	}
}

// MethodNotAllowed checks that methods other than GET (and HEAD) get 405
// with Allow and a JSON error, on a route that exists and on one that
// does not: every route of the tutorial is GET.
func MethodNotAllowed(t *testing.T, base string) {
	t.Helper()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, path := range []string{"/git/golang/go", "/healthz", "/nothing/here"} {
			req, _ := http.NewRequest(method, base+path, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			var body Response
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || err != nil || !strings.Contains(body.Error, "method not allowed") {
				t.Errorf("%s %s = %s %+v (%v), want 405 with a JSON error", method, path, resp.Status, body, err)
			}
			if allow := resp.Header.Get("Allow"); !strings.Contains(allow, http.MethodGet) {
				t.Errorf("%s %s: Allow %q, want GET", method, path, allow)
			}
		}
	}
}

// noAddress fails t if a client's error names GitHub's address (the
// stand-in's here; in docker compose an internal one, github:9090): the
// client has no business with it, and an attacker would like it.
func noAddress(t *testing.T, message, githubURL string) {
	t.Helper()
	host := strings.TrimPrefix(githubURL, "http://")
	hostname, _, _ := strings.Cut(host, ":")
	if strings.Contains(message, host) || strings.Contains(message, hostname) || strings.Contains(message, "http://") {
		t.Errorf("error %q names an address (GitHub is at %s)", message, githubURL)
	}
}

// Get sends GET url and decodes the JSON answer.
func Get(t *testing.T, url string) (int, http.Header, Response) {
	t.Helper()
	return GetWithHeader(t, url, "", "")
}

// GetWithHeader is Get with the request header key set to value: a
// client's trace context, say. Key "" sets none.
func GetWithHeader(t *testing.T, url, key, value string) (int, http.Header, Response) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set(key, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body Response
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: status %d, body is not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, body
}

// Expected computes the answer for a repository of the stand-in from its
// raw statistics: commits summed per login, null authors as "ghost", most
// commits first, then by login.
func Expected(owner, repo string) []Contributor {
	commits := map[string]int{}
	for _, s := range fakegithub.Stats(owner, repo) {
		login := "ghost"
		if s.Author != nil {
			login = s.Author.Login
		}
		for _, w := range s.Weeks {
			commits[login] += w.C
		}
	}
	var want []Contributor
	for login, n := range commits {
		want = append(want, Contributor{login, n})
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].Commits != want[j].Commits {
			return want[i].Commits > want[j].Commits
		}
		return want[i].Login < want[j].Login
	})
	return want
}
