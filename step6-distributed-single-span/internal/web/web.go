// Package web holds what the step's three programs do alike: answer JSON,
// log one line per request, read their configuration, and shut down cleanly.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Run is every program's main: it gives run a logger that names the
// service, and a context that Ctrl-C (SIGINT) or "docker stop" (SIGTERM)
// cancels. If run fails, the program exits with status 1.
func Run(service string, run func(ctx context.Context, logger *slog.Logger) error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("service", service)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, logger)
	stop()
	if err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

// NewServer serves handler on HOST:PORT (all interfaces unless HOST is
// set; defaultPort unless PORT is).
func NewServer(defaultPort string, handler http.Handler) *http.Server {
	return &http.Server{
		Addr:              net.JoinHostPort(os.Getenv("HOST"), EnvOr("PORT", defaultPort)),
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
	}
}

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

// NotFound answers routes that do not exist.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, http.StatusNotFound, "no such route")
}

// LogRequests logs one line per request: method, path, status, duration,
// and the link to the request's trace in the Jaeger UI.
func LogRequests(logger *slog.Logger, jaegerUI string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		attrs := []any{"method", r.Method, "path", r.URL.Path,
			"status", recorder.Status, "duration", time.Since(start)}
		if traceID := w.Header().Get("X-Trace-Id"); traceID != "" {
			attrs = append(attrs, "trace", jaegerUI+"/trace/"+traceID)
		}
		logger.Info("request", attrs...)
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
// and lets the requests in flight finish.
func Serve(ctx context.Context, logger *slog.Logger, server *http.Server) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.ListenAndServe() }()
	logger.Info("listening", "addr", server.Addr)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
