// Package web is the HTTP plumbing that the programs of steps 6 on share,
// and no lesson: read a setting, answer JSON, refuse what no route takes,
// check a repository's name, and serve until asked to stop. The steps
// import it as they import internal/steplib/jobqueue; step 5 had it in http.go and
// main.go.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"time"
)

// EnvOr returns the environment variable name, or fallback when it is unset.
func EnvOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// WriteJSON answers body as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// WriteError answers {"error": message}: clients get JSON even when it fails.
func WriteError(w http.ResponseWriter, status int, message string) {
	WriteJSON(w, status, map[string]string{"error": message})
}

// Healthz answers the health checks of docker compose and of the tests.
func Healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// NoRoute answers the requests that no route takes. Every route is GET
// (Go answers HEAD alike): another method gets 405, not 404, as HTTP asks.
func NoRoute(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, "method not allowed; use GET")
		return
	}
	WriteError(w, http.StatusNotFound, "no such route")
}

// CleanPaths answers a path with "." or ".." in it, which ServeMux answers
// with a redirect in HTML, with a 404 in JSON, as an API should.
func CleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Clean(r.URL.Path) != r.URL.Path {
			NoRoute(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// StatusRecorder remembers the status a handler wrote.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

func (r *StatusRecorder) WriteHeader(status int) {
	r.Status = status
	r.ResponseWriter.WriteHeader(status)
}

// Serve runs server until ctx ends (Ctrl-C, SIGTERM), then stops accepting
// requests and gives the ones in flight up to drain to finish.
func Serve(ctx context.Context, logger *slog.Logger, server *http.Server, drain time.Duration) error {
	// Bind before saying so: a port that is taken fails here, and the log
	// never claims an address the program does not hold.
	listener, err := net.Listen("tcp", server.Addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", server.Addr)
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "drain", drain)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Failure is an error with the status and message our client should get:
// another service's failure, say, or the queue's.
type Failure struct {
	Status     int
	Message    string
	RetryAfter string // seconds: passed on from a 429, or ours with a 503
}

func (f *Failure) Error() string { return f.Message }

// Fail makes a *Failure; retryAfter is "" for none.
func Fail(status int, message, retryAfter string) *Failure {
	return &Failure{Status: status, Message: message, RetryAfter: retryAfter}
}

// StatusClientClosedRequest is nginx's 499: our client gave up (it closed
// the connection, or its own timeout passed) before we answered. Nothing
// failed on our side, whatever error that left us with: the status says so
// in our log and trace, and is no 5xx. Nobody reads the answer.
const StatusClientClosedRequest = 499

// WriteFailure answers err: a *Failure as it says, and any other error as
// a 502 with its message; a request its client gave up gets 499.
func WriteFailure(w http.ResponseWriter, r *http.Request, err error) {
	var failure *Failure
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		failure = Fail(StatusClientClosedRequest, "the client closed the request", "")
	case !errors.As(err, &failure):
		failure = Fail(http.StatusBadGateway, err.Error(), "")
	}
	if failure.RetryAfter != "" {
		w.Header().Set("Retry-After", failure.RetryAfter)
	}
	WriteError(w, failure.Status, failure.Message)
}

// ServeHealth serves a program that has no routes of its own (the
// cleaner) on addr until ctx ends: GET /healthz only, for docker compose
// and the tests, 503 while healthy fails.
func ServeHealth(ctx context.Context, logger *slog.Logger, addr string, healthy func() error) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := healthy(); err != nil {
			WriteError(w, http.StatusServiceUnavailable, "cannot take jobs: "+err.Error())
			return
		}
		Healthz(w, r)
	})
	mux.HandleFunc("/", NoRoute)
	server := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	return Serve(ctx, logger, server, 5*time.Second)
}

// ListenAndServe serves handler on addr until ctx ends (Serve). Every wait
// is bounded: a slow, idle or oversized client cannot hold a connection (or
// memory) for ever. A request may take longest to answer, and the requests
// in flight get as long to finish on shutdown.
func ListenAndServe(ctx context.Context, logger *slog.Logger, addr string, handler http.Handler, longest time.Duration) error {
	server := &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      longest,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	return Serve(ctx, logger, server, longest)
}
