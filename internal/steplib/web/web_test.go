package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// answer serves req with h and returns the status, the Allow header and
// the JSON error message.
func answer(t *testing.T, h http.Handler, method, path string) (int, string, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	var body struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: %q (%s), want JSON", method, path, w.Body, w.Header().Get("Content-Type"))
	}
	return w.Code, w.Header().Get("Allow"), body.Error
}

// What no route takes gets JSON: 405 with Allow for another method, 404
// otherwise, and 404 for a path with "." or ".." (no HTML redirect).
func TestNoRoute(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", Healthz)
	mux.HandleFunc("/", NoRoute)
	h := CleanPaths(mux)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/x", 405, "GET, HEAD"},
		{"GET", "/nothing", 404, ""},
		{"GET", "/a/../x", 404, ""},
		{"GET", "/x", 200, ""},
	} {
		status, allow, _ := answer(t, h, tc.method, tc.path)
		if status != tc.status || allow != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", tc.method, tc.path, status, allow, tc.status, tc.allow)
		}
	}
}

func TestValidateRepo(t *testing.T) {
	for _, tc := range []struct {
		owner, repo string
		ok          bool
	}{
		{"golang", "go", true},
		{"rust-lang", "rust.vim_x", true},
		{"-bad", "go", false},
		{"a--b", "go", false},
		{strings.Repeat("a", 40), "go", false},
		{"golang", "..", false},
		{"golang", "a/b", false},
		{"golang", strings.Repeat("r", 101), false},
	} {
		if err := ValidateRepo(tc.owner, tc.repo); (err == nil) != tc.ok {
			t.Errorf("ValidateRepo(%.20q, %.20q) = %v, want ok %v", tc.owner, tc.repo, err, tc.ok)
		}
	}
}

// Serve refuses an address it cannot bind, and returns once ctx ends,
// after the request in flight has finished.
func TestServe(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	taken := httptest.NewServer(http.NotFoundHandler())
	defer taken.Close()
	if err := Serve(context.Background(), logger, &http.Server{Addr: taken.Listener.Addr().String()}, time.Second); err == nil {
		t.Error("Serve on a taken address succeeded")
	}

	// A free port: the test's own listener, closed for Serve to bind.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	started, finished := make(chan struct{}), make(chan struct{})
	server := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		close(finished)
	})}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, logger, server, 5*time.Second) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the server never listened")
		}
	}
	go http.Get("http://" + addr + "/")
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	select {
	case <-finished:
	default:
		t.Error("Serve returned before the request in flight finished")
	}
}

// WriteFailure answers a *Failure as it says (Retry-After included), any
// other error as a 502, and a request its client gave up as a 499.
func TestWriteFailure(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		err        error
		status     int
		retryAfter string
	}{
		{"a failure", context.Background(), Fail(http.StatusServiceUnavailable, "busy", "5"), 503, "5"},
		{"wrapped", context.Background(), fmt.Errorf("pushing: %w", Fail(http.StatusGatewayTimeout, "late", "")), 504, ""},
		{"any error", context.Background(), errors.New("boom"), 502, ""},
		{"client gone", gone, Fail(http.StatusServiceUnavailable, "busy", "5"), StatusClientClosedRequest, ""},
	} {
		w := httptest.NewRecorder()
		WriteFailure(w, httptest.NewRequest("GET", "/", nil).WithContext(tc.ctx), tc.err)
		if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%s: %d, Retry-After %q; want %d, %q", tc.name, w.Code, w.Header().Get("Retry-After"), tc.status, tc.retryAfter)
		}
	}
}
