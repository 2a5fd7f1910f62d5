// Package web holds what the step's three programs do alike: read a
// setting, answer JSON, log one line per request, and serve until they are
// asked to stop. Step 5 had it in http.go and main.go.
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

// LogRequests logs one line per request: method, path, status, duration,
// and the link to the request's trace in the Jaeger UI; and, from the
// request's context, its trace_id and span_id (tracing.LogHandler).
func LogRequests(logger *slog.Logger, jaegerUI string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		if r.URL.Path == "/healthz" && recorder.Status == http.StatusOK {
			return // docker compose asks every few seconds: no news
		}
		attrs := []any{"method", r.Method, "path", clip(r.URL.Path, 200),
			"status", recorder.Status, "duration", time.Since(start)}
		if traceID := w.Header().Get("X-Trace-Id"); traceID != "" {
			attrs = append(attrs, "trace", jaegerUI+"/trace/"+traceID)
		}
		logger.InfoContext(r.Context(), "request", attrs...)
	})
}

// clip shortens s to at most n bytes, so that no request can flood the log.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
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
