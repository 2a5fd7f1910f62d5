package fakegithub

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func get(t *testing.T, server *Server, path string) *httptest.ResponseRecorder {
	t.Helper()
	recorder := httptest.NewRecorder()
	server.ServeHTTP(recorder, httptest.NewRequest("GET", path, nil))
	return recorder
}

func TestStatsAreGitHubShapedAndDeterministic(t *testing.T) {
	server := New(Options{})
	answer := get(t, server, "/repos/golang/go/stats/contributors")
	if answer.Code != http.StatusOK || answer.Header().Get("X-Fake-GitHub") == "" {
		t.Fatalf("status %d, X-Fake-GitHub %q", answer.Code, answer.Header().Get("X-Fake-GitHub"))
	}

	// Decode into plain maps: the JSON must have GitHub's field names.
	var raw []map[string]any
	if err := json.Unmarshal(answer.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	nullAuthors := 0
	for _, c := range raw {
		if c["author"] == nil {
			nullAuthors++
			continue
		}
		author := c["author"].(map[string]any)
		if author["login"] == "" || author["type"] != "User" {
			t.Errorf("author %v lacks GitHub's fields", author)
		}
		week := c["weeks"].([]any)[0].(map[string]any)
		for _, field := range []string{"w", "a", "d", "c"} {
			if _, ok := week[field]; !ok {
				t.Errorf("week %v lacks %q", week, field)
			}
		}
	}
	if nullAuthors < 1 || nullAuthors > 2 {
		t.Errorf("%d null authors, want 1 or 2 deleted accounts", nullAuthors)
	}
	if !reflect.DeepEqual(Stats("golang", "go"), Stats("golang", "go")) {
		t.Error("Stats is not deterministic")
	}
	if len(Stats("golang", "go")) == len(Stats("a", "b")) && len(Stats("a", "b")) == len(Stats("c", "d")) {
		t.Error("every repository has the same number of contributors")
	}
}

func TestComputeCallsAnswer202First(t *testing.T) {
	server := New(Options{ComputeCalls: 2})
	for i, want := range []int{202, 202, 200, 200} {
		if got := get(t, server, "/repos/a/b/stats/contributors").Code; got != want {
			t.Errorf("call %d: status %d, want %d", i+1, got, want)
		}
	}
	if got := get(t, server, "/repos/a/other/stats/contributors").Code; got != 202 {
		t.Errorf("another repository's first call: %d, want 202", got)
	}
}

func TestOwnersTriggerGitHubFailures(t *testing.T) {
	server := New(Options{Record: true})
	cases := []struct {
		owner  string
		status int
		header string
	}{
		{"missing", 404, ""},
		{"rate-limited", 403, "X-RateLimit-Remaining"},
		{"too-many", 429, "Retry-After"},
		{"computing", 202, ""},
		{"broken", 500, ""},
		{"garbled", 200, ""},
	}
	for _, tc := range cases {
		answer := get(t, server, "/repos/"+tc.owner+"/x/stats/contributors")
		if answer.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.owner, answer.Code, tc.status)
		}
		if tc.header != "" && answer.Header().Get(tc.header) == "" {
			t.Errorf("%s: no %s header", tc.owner, tc.header)
		}
	}
	if body := get(t, server, "/repos/garbled/x/stats/contributors").Body.String(); json.Valid([]byte(body)) {
		t.Errorf("garbled: body %q is JSON", body)
	}
	if got := server.Requests(); len(got) != len(cases)+1 {
		t.Errorf("recorded %d requests, want %d", len(got), len(cases))
	}
}

func TestSlowOwnerGivesUpWithTheClient(t *testing.T) {
	server := httptest.NewServer(New(Options{}))
	defer server.Close() // a second Close does nothing
	client := &http.Client{Timeout: 50 * time.Millisecond}
	resp, err := client.Get(server.URL + "/repos/slow/x/stats/contributors")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the slow owner answered at once")
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v, want the client's timeout", err)
	}
	// Close waits for the handlers: it returns at once only if the slow
	// handler stopped when the client gave up, not after SlowDelay.
	start := time.Now()
	server.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("server.Close took %s: the slow handler kept going after the client left (SlowDelay %s)", took, SlowDelay)
	}
}

// GitHub matches names in any case, with or without ".git".
func TestNamesMatchAsOnGitHub(t *testing.T) {
	server := New(Options{ComputeCalls: 1})
	if got := get(t, server, "/repos/golang/go/stats/contributors").Code; got != http.StatusAccepted {
		t.Fatalf("first call: %d, want 202", got)
	}
	for _, path := range []string{"/repos/GoLang/Go/stats/contributors", "/repos/golang/go.git/stats/contributors"} {
		answer := get(t, server, path)
		if answer.Code != http.StatusOK {
			t.Errorf("%s: %d, want 200: the same repository as golang/go, computed already", path, answer.Code)
		}
	}
	if !reflect.DeepEqual(Stats("GoLang", "Go.git"), Stats("golang", "go")) {
		t.Error("GoLang/Go.git has other statistics than golang/go")
	}
	if got := get(t, server, "/repos/Rate-Limited/x/stats/contributors").Code; got != http.StatusForbidden {
		t.Errorf("Rate-Limited/x: %d, want 403", got)
	}
}

// The rate-limited owner's limit resets soon, so a learner can go on.
func TestRateLimitResetsSoon(t *testing.T) {
	answer := get(t, New(Options{}), "/repos/rate-limited/x/stats/contributors")
	reset, err := strconv.ParseInt(answer.Header().Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if until := time.Until(time.Unix(reset, 0)); until > RateLimitReset+time.Second {
		t.Errorf("the limit resets in %v, want within %v", until, RateLimitReset)
	}
}

// Headers, which hold the caller's token, are kept only when asked, and
// only the latest.
func TestRecordsOnlyWhenAsked(t *testing.T) {
	quiet := New(Options{})
	req := httptest.NewRequest("GET", "/repos/a/b/stats/contributors", nil)
	req.Header.Set("Authorization", "Bearer secret")
	quiet.ServeHTTP(httptest.NewRecorder(), req)
	if got := quiet.Requests(); len(got) != 0 {
		t.Errorf("kept %d requests without Record", len(got))
	}
	recording := New(Options{Record: true})
	for range maxRecorded + 10 {
		recording.ServeHTTP(httptest.NewRecorder(), req)
	}
	if got := recording.Requests(); len(got) != maxRecorded || got[0].Get("Authorization") != "Bearer secret" {
		t.Errorf("kept %d requests, want the latest %d", len(got), maxRecorded)
	}
}

// TestSlowDelayOption: Options.SlowDelay makes the slow owner slow, not
// hung: it answers with statistics once the delay has passed, and not
// before.
func TestSlowDelayOption(t *testing.T) {
	server := httptest.NewServer(New(Options{SlowDelay: 200 * time.Millisecond}))
	defer server.Close()
	if _, err := (&http.Client{Timeout: 50 * time.Millisecond}).Get(server.URL + "/repos/slow/x/stats/contributors"); err == nil {
		t.Error("the slow owner answered before its delay")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(server.URL + "/repos/slow/x/stats/contributors")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []ContributorStats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil || resp.StatusCode != http.StatusOK || len(stats) == 0 {
		t.Errorf("slow owner after its delay: %s, %d contributors, %v; want 200 with statistics", resp.Status, len(stats), err)
	}
}
