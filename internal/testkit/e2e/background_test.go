package e2e

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBackground(t *testing.T) {
	// run ends with its context, once stop has closed what it waits on.
	var got []string
	unblocked := make(chan struct{})
	failed := failures(t, func(t testing.TB) {
		logs := Background(t, "worker", func(ctx context.Context, logger *slog.Logger) {
			logger.Info("working")
			<-ctx.Done()
			<-unblocked
			got = append(got, "returned")
		}, func() { close(unblocked) })
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "msg=working"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("log %q lacks the worker's line", logs.String())
			}
		}
	})
	if len(failed) != 0 || len(got) != 1 {
		t.Errorf("failures %q, run %v; want run to return and nothing to fail", failed, got)
	}

	// A run that does not return fails the test, which shows its log.
	defer func(d time.Duration) { stopTimeout = d }(stopTimeout)
	stopTimeout = 100 * time.Millisecond
	stuck := make(chan struct{})
	defer close(stuck)
	failed = failures(t, func(t testing.TB) {
		Background(t, "stuck worker", func(ctx context.Context, logger *slog.Logger) { <-stuck }, nil)
	})
	if len(failed) != 1 || !strings.Contains(failed[0], "stuck worker did not return within 100ms") {
		t.Errorf("failures %q, want the stuck worker", failed)
	}
}
