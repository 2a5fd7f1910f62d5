package main

// End-to-end: the step's three programs as real processes, with a real
// Redis, a real Jaeger and the stand-in GitHub, held to what every
// distributed step promises and to step 9's lesson (internal/lesson):
// step 8's trace and baggage, now from OpenTelemetry's SDK over OTLP.

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
	stepsuite.TestDistributed(t, 9, "..", stepsuite.Distributed{Trace: fromTheSDK})
}

// fromTheSDK: what step 9's trace shows besides its lesson.
func fromTheSDK(t *testing.T, stack *stepsuite.Stack, trace jaeger.Trace) {
	for _, span := range trace.Spans {
		name := trace.ServiceName(span) + ": " + span.OperationName
		// Step 9's cleaner starts its span as a child of the gateway's
		// queue.Push: a FollowsFrom would start a new trace (see the README).
		if name == "cleaner: cleanJob" && (len(span.References) != 1 || span.References[0].RefType != "CHILD_OF") {
			t.Errorf("%s: references %+v, want one CHILD_OF", name, span.References)
		}
		// The spans come from OpenTelemetry's SDK, over OTLP: the process
		// says so, and the bridge's instrumentation scope names step 9.
		process := trace.Processes[span.ProcessID]
		for key, want := range map[string]any{"telemetry.sdk.language": "go", "telemetry.sdk.name": "opentelemetry"} {
			if got, _ := (jaeger.Span{Tags: process.Tags}).Tag(key); got != want {
				t.Errorf("%s: process tag %s = %v, want %v (process tags %+v)", name, key, got, want, process.Tags)
			}
		}
		if got, _ := span.Tag("otel.scope.name"); got != "github.com/tracing-tutorial/tutorial/step9-opentelemetry" {
			t.Errorf("%s: otel.scope.name = %v, want step 9's tracer (tags %+v)", name, got, span.Tags)
		}
		if name == "gateway: GET /git/{owner}/{repo}" {
			// Unlike jaeger-client-go, the bridge logs nothing when an
			// item is set: only the cleaner's tag stores it in Jaeger.
			for _, l := range span.Logs {
				for _, f := range l.Fields {
					if f.Key == "key" && f.Value == "requested-by" {
						t.Errorf("%s: a log of the baggage item; logs %+v", name, span.Logs)
					}
				}
			}
			// ext.HTTPStatusCode's uint16 arrives as a number.
			if got, _ := span.Tag("http.status_code"); got != float64(200) {
				t.Errorf("%s: http.status_code = %v (%T), want the number 200", name, got, got)
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

// TestServiceNameFromEnv: OTEL_SERVICE_NAME renames the gateway in Jaeger;
// step 9's tracing.Init gives only the default name.
func TestServiceNameFromEnv(t *testing.T) {
	t.Parallel()
	stepsuite.TestServiceNameFromEnv(t, 9, "..")
}
