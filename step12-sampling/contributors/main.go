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
	"github.com/tracing-tutorial/tutorial/internal/steplib/githubapi"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
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

	// "contributors" unless OTEL_SERVICE_NAME says otherwise.
	closer, err := tracing.Init(ctx, "contributors", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out

	app := &app{
		github:        githubapi.NewClient(web.EnvOr("GITHUB_API_URL", "https://api.github.com/"), os.Getenv("GITHUB_TOKEN"), logger, traceGitHub),
		githubTimeout: 10 * time.Second,
	}
	// The longest a request takes: GitHub's answer, and a little more.
	longest := app.githubTimeout + 5*time.Second
	// otelhttp's handler makes a server span for every request, a child
	// of the gateway's client span, whose context the headers carry.
	handler := otelhttp.NewHandler(tracing.LogRequests(logger, web.EnvOr("JAEGER_UI", "http://localhost:16686"), app.routes()), "contributors", tracing.NotHealthz)
	return web.ListenAndServe(ctx, logger, net.JoinHostPort(os.Getenv("HOST"), web.EnvOr("PORT", "8001")), handler, longest)
}

// app holds what the handlers need.
type app struct {
	github        *github.Client
	githubTimeout time.Duration // for the whole fetch, 202 retries included
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats/{owner}/{repo}", tracing.TraceRequest(a.getStats))
	mux.HandleFunc("GET /healthz", web.Healthz)
	mux.HandleFunc("/", web.NoRoute)
	return web.CleanPaths(mux)
}

func (a *app) getStats(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("repo", owner+"/"+repo))
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
