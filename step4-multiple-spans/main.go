// Step 4: child spans show which function a request spends its time in.
//
// One program answers GET /git/{owner}/{repo} with the contributors of a
// GitHub repository and their commit counts: it fetches GitHub's contributor
// statistics (github.go), counts the commits (contributors.go) and serves
// JSON (this file).
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"syscall"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/opentracing/opentracing-go"
)

func main() {
	// Lines logged with a request's context carry its trace_id and span_id.
	logger := slog.New(logHandler{slog.NewTextHandler(os.Stderr, nil)})
	if err := run(logger); err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	// Ctrl-C (SIGINT) or "docker stop" (SIGTERM) cancels ctx.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tracer, closer, err := initTracer("gateway", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out
	opentracing.SetGlobalTracer(tracer)

	app := &app{
		logger:        logger,
		jaegerUI:      envOr("JAEGER_UI", "http://localhost:16686"),
		github:        newGitHubClient(envOr("GITHUB_API_URL", "https://api.github.com/"), os.Getenv("GITHUB_TOKEN")),
		githubTimeout: 10 * time.Second,
	}
	server := &http.Server{
		Addr:    net.JoinHostPort(os.Getenv("HOST"), envOr("PORT", "8000")),
		Handler: app.routes(),
		// Every wait is bounded: a slow, idle or oversized client cannot hold
		// a connection (or memory) for ever. An answer takes GitHub's 10 s at
		// most, and the counting: well within WriteTimeout.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}

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
	// Stop accepting new requests and let the ones in flight finish: no
	// request runs longer than WriteTimeout.
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), server.WriteTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app holds what the handlers need.
type app struct {
	logger        *slog.Logger
	jaegerUI      string // the request's log line links to its trace there
	github        *github.Client
	githubTimeout time.Duration // for the whole fetch, 202 retries included
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	// The request's span, and in it the request's log line.
	mux.HandleFunc("GET /git/{owner}/{repo}", traceRequest(logRequests(a.logger, a.jaegerUI, a.getContributors)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// A request no route takes has a log line too, without a span.
	mux.HandleFunc("/", logRequests(a.logger, a.jaegerUI, func(w http.ResponseWriter, r *http.Request) {
		// Every route is GET (Go answers HEAD alike): another method gets
		// 405, not 404, as HTTP asks.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed; try GET /git/{owner}/{repo}")
			return
		}
		writeError(w, http.StatusNotFound, "no such route; try GET /git/{owner}/{repo}")
	}))
	// ServeMux answers a path with "." or ".." in it with a redirect, in
	// HTML; an API answers JSON.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Clean(r.URL.Path) != r.URL.Path {
			writeError(w, http.StatusNotFound, "no such route; try GET /git/{owner}/{repo}")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// contributorsResponse is what GET /git/{owner}/{repo} answers.
type contributorsResponse struct {
	Repo         string        `json:"repo"`
	Contributors []contributor `json:"contributors"`
}

func (a *app) getContributors(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	if err := validateRepo(owner, repo); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), a.githubTimeout)
	defer cancel()
	stats, err := fetchContributorStats(ctx, a.github, owner, repo)
	if err != nil {
		writeGitHubError(w, err)
		return
	}

	writeJSON(w, http.StatusOK, contributorsResponse{
		Repo:         owner + "/" + repo,
		Contributors: countCommits(ctx, stats),
	})
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
