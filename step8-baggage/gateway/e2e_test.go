package main

// End-to-end: the step's three programs as real processes, with a real
// Redis, a real Jaeger and the stand-in GitHub, held to what every
// distributed step promises and to step 8's lesson (internal/lesson): one
// trace across the three services, and who asked (X-Requested-By: alice)
// carried as baggage to the cleaner, two hops away.

import (
	"os"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(stepsuite.Main(m)) }

func TestE2E(t *testing.T) {
	t.Parallel()
	stepsuite.TestDistributed(t, 8, "..", stepsuite.Distributed{Trace: baggageTravels})
}

// baggageTravels: what step 8's trace shows besides its lesson (which
// checks requested_by=alice on the cleaner's span).
func baggageTravels(t *testing.T, stack *stepsuite.Stack, trace jaeger.Trace) {
	for _, span := range trace.Spans {
		switch name := trace.ServiceName(span) + ": " + span.OperationName; name {
		case "cleaner: cleanJob":
			// It follows from the gateway's queue.Push, as in step 7.
			if len(span.References) != 1 || span.References[0].RefType != "FOLLOWS_FROM" {
				t.Errorf("%s: references %+v, want one FOLLOWS_FROM", name, span.References)
			}
		case "gateway: GET /git/{owner}/{repo}":
			// jaeger-client-go logs the item on the span: it is stored in
			// Jaeger, for anyone who can read traces.
			if !hasLog(span, map[string]any{"event": "baggage", "key": "requested-by", "value": "alice"}) {
				t.Errorf("%s: no log of the baggage item requested-by=alice; logs %+v", name, span.Logs)
			}
		}
	}
	if out := stack.Programs["cleaner"].Output(); !strings.Contains(out, "requested_by=alice") {
		t.Errorf("the cleaner's log does not say it cleaned for alice:\n%s", out)
	}
	// GitHub, a third party, got neither the trace context nor the baggage.
	requests := stack.GitHub.Requests()
	if len(requests) == 0 {
		t.Error("GitHub got no request")
	}
	for _, h := range requests {
		for name := range h {
			if lower := strings.ToLower(name); strings.HasPrefix(lower, "uber") || strings.Contains(lower, "baggage") || lower == "traceparent" {
				t.Errorf("GitHub got the header %s: %q", name, h.Get(name))
			}
		}
	}
}

func hasLog(span jaeger.Span, fields map[string]any) bool {
	for _, l := range span.Logs {
		got := map[string]any{}
		for _, f := range l.Fields {
			got[f.Key] = f.Value
		}
		match := true
		for k, v := range fields {
			match = match && got[k] == v
		}
		if match {
			return true
		}
	}
	return false
}
