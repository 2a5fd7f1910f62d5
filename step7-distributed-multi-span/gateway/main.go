// The gateway: the service our users call. It serves
// GET /git/{owner}/{repo} by asking the contributors service for GitHub's
// raw statistics, queueing them for the cleaner, and waiting for its reply.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/queue"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/tracing"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/web"
)

func main() { web.Run("gateway", run) }

func run(ctx context.Context, logger *slog.Logger) error {
	closer, err := tracing.Init("gateway", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out

	replyTimeout, err := time.ParseDuration(web.EnvOr("REPLY_TIMEOUT", "15s"))
	if err != nil {
		return fmt.Errorf("REPLY_TIMEOUT: %w", err)
	}
	app := &app{
		contributorsURL: web.EnvOr("CONTRIBUTORS_URL", "http://localhost:8001"),
		// The contributors service gives up on GitHub after 10 s; we wait a
		// little longer so that its answer (a 504, say) still reaches us.
		http:         &http.Client{Timeout: 12 * time.Second},
		redis:        newRedisClient(web.EnvOr("REDIS_ADDR", "localhost:6379")),
		replyTimeout: replyTimeout,
	}
	defer app.redis.Close()
	server := web.NewServer("8000", web.LogRequests(logger, web.EnvOr("JAEGER_UI", "http://localhost:16686"), app.routes()))
	return web.Serve(ctx, logger, server)
}

// newRedisClient fails fast when Redis is down, so that users get a 503 at
// once, and reconnects by itself when it is back.
func newRedisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:        addr,
		DialTimeout: 500 * time.Millisecond,
		MaxRetries:  1,  // once, for a connection that Redis closed
		PoolSize:    64, // each request waiting for its reply holds one
	})
}

// app holds what the handlers need.
type app struct {
	contributorsURL string
	http            *http.Client
	redis           *redis.Client
	replyTimeout    time.Duration // how long to wait for the cleaner
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /git/{owner}/{repo}", tracing.TraceRequest(a.getContributors))
	mux.HandleFunc("GET /healthz", web.Healthz)
	mux.HandleFunc("/", web.NotFound)
	return mux
}

// contributorsResponse is what GET /git/{owner}/{repo} answers.
type contributorsResponse struct {
	Repo         string              `json:"repo"`
	Contributors []queue.Contributor `json:"contributors"`
}

func (a *app) getContributors(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	// A tag describes the whole span: this request is about this repository.
	opentracing.SpanFromContext(r.Context()).SetTag("repo", owner+"/"+repo)

	stats, err := a.fetchStats(r.Context(), owner, repo)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	contributors, err := a.clean(r.Context(), owner+"/"+repo, stats)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, contributorsResponse{Repo: owner + "/" + repo, Contributors: contributors})
}
