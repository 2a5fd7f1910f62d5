package e2e

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

var shared struct {
	once sync.Once
	mu   sync.Mutex
	inst *jaeger.Instance
	err  error
}

// Jaeger returns the test binary's Jaeger, starting it on first use; Main
// stops it. Tests share it (starting takes a fraction of a second, but
// building it the first time takes minutes) and tell their traces apart by
// trace ID.
func Jaeger(t testing.TB) *jaeger.Instance {
	t.Helper()
	binDir(t)
	shared.once.Do(func() {
		var inst *jaeger.Instance
		binary, err := jaeger.ForChecks(t.Context(), &timeoutHint{w: os.Stderr})
		if err == nil {
			inst, err = jaeger.Start(t.Context(), binary, jaeger.Options{})
		}
		shared.mu.Lock()
		shared.inst, shared.err = inst, err
		shared.mu.Unlock()
	})
	if shared.err != nil {
		t.Fatalf("e2e: no Jaeger: %v", shared.err)
	}
	return shared.inst
}

func stopJaeger(failed bool) {
	shared.mu.Lock()
	inst := shared.inst
	shared.inst = nil
	shared.mu.Unlock()
	if inst == nil {
		return
	}
	if failed {
		fmt.Fprintf(os.Stderr, "e2e: Jaeger's log ends:\n%s\n", proc.LastLines(inst.Log(), 20))
	}
	if err := inst.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	}
}

// timeoutHint passes Jaeger's build progress through, and with its first
// line adds what to do if the build outlasts go test's -timeout (10 minutes
// by default), which a first build on a small machine can.
type timeoutHint struct {
	w      io.Writer
	hinted bool
}

func (h *timeoutHint) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	if !h.hinted {
		h.hinted = true
		fmt.Fprintln(h.w, "e2e: if go test times out meanwhile, run it again: the build resumes from Go's build cache (or pass -timeout 30m)")
	}
	return n, err
}
