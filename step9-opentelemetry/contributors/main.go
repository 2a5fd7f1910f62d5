// The contributors service: our GitHub proxy. It answers
// GET /stats/{owner}/{repo} with GitHub's raw contributor statistics, and
// GitHub's failures as our statuses (the talk's proxy answered 200 always).
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/opentracing/opentracing-go"
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/step9-opentelemetry/internal/tracing"
)

func main() {
	// Lines logged with a request's context carry its trace_id and span_id.
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(os.Stderr, nil))).With("service", "contributors")
	if err := run(logger); err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	// Ctrl-C (SIGINT) or "docker stop" (SIGTERM) cancels ctx.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tracer, closer, err := tracing.Init("contributors", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out
	opentracing.SetGlobalTracer(tracer)

	app := &app{
		logger:        logger,
		jaegerUI:      web.EnvOr("JAEGER_UI", "http://localhost:16686"),
		github:        githubapi.NewClient(web.EnvOr("GITHUB_API_URL", "https://api.github.com/"), os.Getenv("GITHUB_TOKEN"), logger, nil),
		githubTimeout: 10 * time.Second,
	}
	// The longest a request takes: GitHub's answer, and a little more.
	longest := app.githubTimeout + 5*time.Second
	return web.ListenAndServe(ctx, logger, net.JoinHostPort(os.Getenv("HOST"), web.EnvOr("PORT", "8001")), app.routes(), longest)
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
	mux.HandleFunc("GET /stats/{owner}/{repo}", tracing.TraceRequest(tracing.LogRequests(a.logger, a.jaegerUI, a.getStats)))
	mux.HandleFunc("GET /healthz", web.Healthz)
	mux.HandleFunc("/", tracing.LogRequests(a.logger, a.jaegerUI, web.NoRoute)) // no span: no trace
	return web.CleanPaths(mux)
}

func (a *app) getStats(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	opentracing.SpanFromContext(r.Context()).SetTag("repo", owner+"/"+repo)
	if err := web.ValidateRepo(owner, repo); err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), a.githubTimeout)
	defer cancel()
	stats, err := fetchContributorStats(ctx, a.github, owner, repo)
	if err != nil {
		githubapi.WriteError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, stats)
}
