// The contributors service: our GitHub proxy. It answers
// GET /stats/{owner}/{repo} with GitHub's raw contributor statistics, and
// GitHub's failures as our statuses (the talk's proxy answered 200 always).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/step6-distributed-single-span/internal/web"
)

func main() { web.Run("contributors", run) }

func run(ctx context.Context, logger *slog.Logger) error {
	app := &app{
		github:        newGitHubClient(web.EnvOr("GITHUB_API_URL", "https://api.github.com/"), os.Getenv("GITHUB_TOKEN")),
		githubTimeout: 10 * time.Second,
	}
	server := web.NewServer("8001", web.LogRequests(logger, web.EnvOr("JAEGER_UI", "http://localhost:16686"), app.routes()))
	return web.Serve(ctx, logger, server)
}

// app holds what the handlers need.
type app struct {
	github        *github.Client
	githubTimeout time.Duration // for the whole fetch, 202 retries included
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats/{owner}/{repo}", a.getStats)
	mux.HandleFunc("GET /healthz", web.Healthz)
	mux.HandleFunc("/", web.NotFound)
	return mux
}

func (a *app) getStats(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	if err := validateRepo(owner, repo); err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), a.githubTimeout)
	defer cancel()
	stats, err := fetchContributorStats(ctx, a.github, owner, repo)
	if err != nil {
		writeGitHubError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, stats)
}
