// Command fakegithub runs the tutorial's stand-in GitHub on its own: for an
// offline workshop, or to try the steps without spending GitHub's rate limit.
//
//	go run ./cmd/fakegithub -addr 127.0.0.1:9090
//	GITHUB_API_URL=http://127.0.0.1:9090/ go run ./step1-monolith
//
// See internal/infra/fakegithub for the owners that trigger GitHub's failures
// (missing/, rate-limited/, too-many/, computing/, slow/, broken/, garbled/,
// overflow/).
package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "address to listen on")
	computeCalls := flag.Int("compute-calls", 1, "answer 202 (statistics being computed) to this many first requests per repository")
	latency := flag.Duration("latency", 0, "delay added to every answer")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	server := &http.Server{
		Addr:              *addr,
		Handler:           fakegithub.New(fakegithub.Options{ComputeCalls: *computeCalls, Latency: *latency}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		<-ctx.Done()
		server.Shutdown(context.Background())
	}()
	slog.Info("stand-in GitHub (synthetic data) listening", "url", "http://"+*addr+"/")
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		slog.Error("stopped", "error", err)
		os.Exit(1)
	}
}
