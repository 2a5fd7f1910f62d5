// The gateway: the service our users call. It serves
// GET /git/{owner}/{repo} by asking the contributors service for GitHub's
// raw statistics, queueing them for the cleaner, and waiting for its answer.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	// Lines logged with a request's context carry its trace_id and span_id.
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(os.Stderr, nil))).With("service", "gateway")
	if err := run(logger); err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	// Ctrl-C (SIGINT) or "docker stop" (SIGTERM) cancels ctx.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// How long a request waits for the cleaner. The queue counts in seconds.
	replyTimeout, err := time.ParseDuration(web.EnvOr("REPLY_TIMEOUT", "15s"))
	if err != nil || replyTimeout < time.Second {
		return fmt.Errorf("REPLY_TIMEOUT=%q: want a duration of at least 1s, such as 15s", os.Getenv("REPLY_TIMEOUT"))
	}

	// "gateway" unless OTEL_SERVICE_NAME says otherwise.
	closer, err := tracing.Init(ctx, "gateway", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out

	// The jobs for the cleaner go through Redis (internal/steplib/jobqueue).
	queue := jobqueue.New(web.EnvOr("REDIS_ADDR", "localhost:6379"), "contributors")
	defer queue.Close()

	app := &app{
		contributorsURL: web.EnvOr("CONTRIBUTORS_URL", "http://localhost:8001"),
		// The contributors service gives up on GitHub after 10 s; we wait a
		// little longer so that its answer (a 504, say) still reaches us.
		// otelhttp's transport makes a client span for every call and puts
		// its context (traceparent) and the baggage in the request's headers.
		http:         &http.Client{Timeout: 12 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport)},
		queue:        queue,
		replyTimeout: replyTimeout,
	}
	// The longest a request takes: the contributors service's answer, then
	// the cleaner's, and a few seconds for Redis. The server lets it write
	// for that long, and so long does it wait for requests on shutdown.
	longest := app.http.Timeout + replyTimeout + 5*time.Second
	// otelhttp's handler makes a server span for every request. We are
	// the edge: it starts a new trace, linked to the caller's span if
	// the headers carry one (traceparent), never its child.
	handler := otelhttp.NewHandler(tracing.LogRequests(logger, web.EnvOr("JAEGER_UI", "http://localhost:16686"), app.routes()), "gateway", tracing.NotHealthz, tracing.PublicEndpoint)
	return web.ListenAndServe(ctx, logger, net.JoinHostPort(os.Getenv("HOST"), web.EnvOr("PORT", "8000")), handler, longest)
}

// app holds what the handlers need.
type app struct {
	contributorsURL string
	http            *http.Client
	queue           *jobqueue.Queue
	replyTimeout    time.Duration // how long to wait for the cleaner
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /git/{owner}/{repo}", tracing.TraceEdgeRequest(a.getContributors))
	mux.HandleFunc("GET /healthz", web.Healthz)
	mux.HandleFunc("/", web.NoRoute)
	return web.CleanPaths(mux)
}

// contributorsResponse is what GET /git/{owner}/{repo} answers.
type contributorsResponse struct {
	Repo         string          `json:"repo"`
	Contributors json.RawMessage `json:"contributors"` // the cleaner's answer, as it is
}

func (a *app) getContributors(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	// An attribute describes the whole span: this request is about this
	// repository. The span is otelhttp's server span.
	trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("repo", owner+"/"+repo))
	// A bad name is our client's mistake: say so here, before it goes into
	// the contributors service's URL (escaped, a long one can outgrow its
	// header limit and come back as a 431).
	if err := web.ValidateRepo(owner, repo); err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Baggage travels on with the context: the cleaner, two hops away,
	// learns who asked (gateway/baggage.go).
	ctx := withRequestedBy(r.Context(), requestedBy(r))

	stats, err := a.fetchStats(ctx, owner, repo)
	if err != nil {
		web.WriteFailure(w, r, err)
		return
	}
	contributors, err := a.clean(ctx, owner+"/"+repo, stats)
	if err != nil {
		web.WriteFailure(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, contributorsResponse{Repo: owner + "/" + repo, Contributors: contributors})
}
