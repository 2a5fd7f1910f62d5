package main

// End-to-end: the step's three programs as real processes, with a real
// Redis, a real Jaeger and the stand-in GitHub, held to what every
// distributed step promises and to step 7's lesson (internal/lesson): one
// trace across the three services, over HTTP headers and inside the job.

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

func TestMain(m *testing.M) { os.Exit(lesson.Main(m)) }

func TestE2E(t *testing.T) {
	t.Parallel()
	lesson.TestDistributed(t, 7, "..", lesson.Distributed{Trace: cleanJobFollowsFrom})
}

// cleanJobFollowsFrom: the cleaner's span follows from the gateway's
// queue.Push (Jaeger draws it under queue.Push all the same).
func cleanJobFollowsFrom(t *testing.T, _ *lesson.Stack, trace jaeger.Trace) {
	found := false
	for _, span := range trace.Spans {
		if trace.ServiceName(span) != "cleaner" || span.OperationName != "cleanJob" {
			continue
		}
		found = true
		if len(span.References) != 1 || span.References[0].RefType != "FOLLOWS_FROM" {
			t.Errorf("cleaner: cleanJob: references %+v, want one FOLLOWS_FROM", span.References)
		}
	}
	if !found {
		t.Error("no cleaner span cleanJob in the trace")
	}
}
