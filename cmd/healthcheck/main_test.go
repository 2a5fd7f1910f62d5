package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok"))
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		default:
			http.NotFound(w, r)
		}
	}))
	defer server.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name    string
		url     string
		want    int
		timeout time.Duration
		healthy bool
	}{
		{"2xx when any 2xx is wanted", server.URL + "/healthz", 0, time.Second, true},
		{"404 when any 2xx is wanted", server.URL + "/nothing", 0, time.Second, false},
		{"404 when 404 is wanted", server.URL + "/nothing", 404, time.Second, true},
		{"200 when 404 is wanted", server.URL + "/healthz", 404, time.Second, false},
		{"nobody listening", closed.URL + "/healthz", 0, time.Second, false},
		{"too slow", server.URL + "/slow", 0, 50 * time.Millisecond, false},
		{"not a URL", "::", 0, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := check(tc.url, tc.want, tc.timeout)
			if healthy := err == nil; healthy != tc.healthy {
				t.Errorf("check(%q, %d) = %v, want healthy=%v", tc.url, tc.want, err, tc.healthy)
			}
		})
	}
}
