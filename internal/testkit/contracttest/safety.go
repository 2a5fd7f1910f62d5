package contracttest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// NewClient is a step's newGitHubClient.
type NewClient func(apiURL, token string) *github.Client

// TokenStaysHome checks that a step's GitHub client sends its token over
// HTTPS, or over plain HTTP to this machine, and to nowhere else: over
// plain HTTP across a network anybody on the way reads it (the docker
// compose stand-in, http://github:9090/, gets none).
func TokenStaysHome(t *testing.T, newClient NewClient) {
	sent := func(apiURL string) string {
		client := newClient(apiURL, Token)
		transport := client.Client().Transport
		if transport == nil {
			transport = http.DefaultTransport
		}
		// What the client would send, sent to a server of the test's own.
		var got string
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("Authorization")
		}))
		defer server.Close()
		req, _ := http.NewRequest(http.MethodGet, server.URL, nil)
		resp, err := transport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", apiURL, err)
		}
		resp.Body.Close()
		return got
	}
	for _, apiURL := range []string{
		"https://api.github.com/", "https://github.example.com/api/v3",
		"http://127.0.0.1:9090/", "http://localhost:9090", "http://[::1]:9090/", "http://127.0.0.2/",
	} {
		if got := sent(apiURL); got != "Bearer "+Token {
			t.Errorf("GITHUB_API_URL=%s: Authorization %q, want the bearer token", apiURL, got)
		}
	}
	for _, apiURL := range []string{
		"http://github:9090/", "http://api.github.com/", "http://10.0.0.5/", "http://[fe80::1]/",
		"http://localhost.example.com/", "http://127.0.0.1.example.com/", "ftp://127.0.0.1/",
	} {
		if got := sent(apiURL); got != "" {
			t.Errorf("GITHUB_API_URL=%s: Authorization %q, want none: plain http to another machine", apiURL, got)
		}
	}
}

// TokenFollowsNoRedirect checks that a step's GitHub client sends its token
// to the API's host and to no other, however GitHub redirects: go-github
// adds the token to every request, redirects included. A redirect within
// the API (a renamed repository) still gets it.
func TokenFollowsNoRedirect(t *testing.T, newClient NewClient) {
	var elsewhere []string // the Authorization headers the other host saw
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = append(elsewhere, r.Header.Get("Authorization"))
		w.Write([]byte("[]"))
	}))
	defer other.Close()
	var moved string // the Authorization header of the redirect within the API
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away": // another host: same machine, another port
			http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
		case "/renamed":
			http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
		case "/moved":
			moved = r.Header.Get("Authorization")
			w.Write([]byte("[]"))
		}
	}))
	defer api.Close()

	client := newClient(api.URL+"/", Token).Client()
	if resp, err := client.Get(api.URL + "/away"); err == nil {
		resp.Body.Close()
		t.Errorf("a redirect to another host was followed: %s", resp.Status)
	}
	for _, got := range elsewhere {
		if got != "" {
			t.Errorf("the other host got Authorization %q", got)
		}
	}
	resp, err := client.Get(api.URL + "/renamed")
	if err != nil {
		t.Fatalf("a redirect within the API: %v", err)
	}
	resp.Body.Close()
	if moved != "Bearer "+Token {
		t.Errorf("after a redirect within the API: Authorization %q, want the bearer token", moved)
	}
}

// SecretsStayOutOfErrors checks that a step's GitHub client keeps its
// secrets out of the errors it returns, which the steps log and put in
// spans: GitHub's error message may echo the request's Authorization
// header, and a user:password@ in GITHUB_API_URL is not used (go-github's
// errors, and every span's http.url, would repeat it).
func SecretsStayOutOfErrors(t *testing.T, newClient NewClient) {
	var password string // what GitHub got as basic auth
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, password, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message": "Bad credentials: Authorization: %s", "status": "401"}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()

	const secretPassword = "urlpassword"
	apiURL := strings.Replace(echo.URL, "http://", "http://learner:"+secretPassword+"@", 1) + "/"
	client := newClient(apiURL, Token)
	if client.BaseURL.User != nil {
		t.Errorf("GITHUB_API_URL's user:password@ is kept: %s", client.BaseURL.Redacted())
	}
	_, _, err := client.Repositories.ListContributorsStats(context.Background(), "golang", "go")
	if err == nil {
		t.Fatal("a 401 from GitHub gave no error")
	}
	for name, secret := range map[string]string{"the token": Token, "GITHUB_API_URL's password": secretPassword} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error names %s: %v", name, err)
		}
	}
	if password != "" {
		t.Errorf("GitHub got GITHUB_API_URL's password %q as basic auth", password)
	}
}

// FuzzRepoNames fuzzes a step's validateRepo: it never panics, what it
// accepts is a name GitHub could have, and what it refuses it says in a
// bounded message, whatever it was given.
func FuzzRepoNames(f *testing.F, validate func(owner, repo string) error) {
	for _, seed := range [][2]string{
		{"golang", "go"}, {"rust-lang", "rust"}, {"a", "."}, {"a", ".."}, {"-a", "b"}, {"a-", "b"},
		{"a--b", "c"}, {"bad_owner", "repo"}, {"owner", "re po"}, {strings.Repeat("a", 39), "r"},
		{strings.Repeat("a", 40), "r"}, {"o", strings.Repeat("r", 101)}, {"ü", "ß"}, {"o", "\x00"},
		{strings.Repeat("x", 100_000), strings.Repeat("\xff", 1000)},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, owner, repo string) {
		err := validate(owner, repo)
		if err == nil {
			if !validOwner(owner) || !validRepo(repo) {
				t.Errorf("accepted %q/%q, which GitHub cannot have", owner, repo)
			}
			return
		}
		// The name is echoed clipped to 40 or 100 characters, each quoted
		// in at most 10 bytes (\U000e0001): about 1,100 bytes at most,
		// however long the name.
		if msg := err.Error(); len(msg) > 1200 || !utf8.ValidString(msg) {
			t.Errorf("refusal of %d+%d bytes: a message of %d bytes, valid UTF-8 %t: %.100q", len(owner), len(repo), len(msg), utf8.ValidString(msg), msg)
		}
	})
}

// validOwner and validRepo say GitHub's rules again, another way than the
// steps' regular expressions.
func validOwner(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func validRepo(s string) bool {
	if s == "" || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
