package e2e

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// Background runs run in a goroutine until the test ends, as Start runs a
// program: a stand-in for one of a step's programs, say, or a consumer
// loop under test. run's logger writes to the returned buffer, which is
// logged if the test fails. When the test ends, run's context is
// cancelled, stop (if not nil) is called to end whatever run blocks on
// (by closing its Redis client, say), and the test fails unless run
// returns within 10 seconds.
func Background(t testing.TB, name string, run func(ctx context.Context, logger *slog.Logger), stop func()) *proc.Buffer {
	t.Helper()
	logs := &proc.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, slog.New(slog.NewTextHandler(logs, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		if stop != nil {
			stop()
		}
		select {
		case <-done:
		case <-time.After(stopTimeout):
			t.Errorf("e2e: %s did not return within %s of its context's end", name, stopTimeout)
		}
		if t.Failed() {
			t.Logf("e2e: %s logged:\n%s", name, logs)
		}
	})
	return logs
}
