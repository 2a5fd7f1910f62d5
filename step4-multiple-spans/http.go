package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// writeError answers {"error": message}: clients get JSON even when it fails.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

// logRequests logs one line per request: method, path, status, duration,
// and the link to the request's trace in the Jaeger UI. It goes inside
// traceRequest: the line is logged with the request's context, which holds
// the request's span, so it carries its trace_id and span_id (logHandler).
func logRequests(logger *slog.Logger, jaegerUI string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next(recorder, r)
		attrs := []any{"method", r.Method, "path", clip(r.URL.Path, 200),
			"status", recorder.status, "duration", time.Since(start)}
		if traceID := sampledTraceID(r.Context()); traceID != "" {
			attrs = append(attrs, "trace", jaegerUI+"/trace/"+traceID)
		}
		logger.InfoContext(r.Context(), "request", attrs...)
	}
}

// statusRecorder remembers the status a handler wrote, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// clip shortens s to at most n bytes, so that no request can flood the log.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
