package main

// End-to-end: the step's three programs as real processes, with a real
// Redis, a real Jaeger and the stand-in GitHub, held to what every
// distributed step promises and to step 10's lesson (internal/lesson):
// one trace across the three services, made with OpenTelemetry's own API
// and otelhttp, read back from Jaeger.

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(stepsuite.Main(m)) }

func TestE2E(t *testing.T) {
	t.Parallel()
	stepsuite.TestDistributed(t, 10, "..", stepsuite.Distributed{Trace: native})
}

// TestServiceNameFromEnv: OTEL_SERVICE_NAME renames the gateway in Jaeger.
func TestServiceNameFromEnv(t *testing.T) {
	t.Parallel()
	stepsuite.TestServiceNameFromEnv(t, 10, "..")
}

// native: what step 10's trace shows besides its lesson.
func native(t *testing.T, stack *stepsuite.Stack, trace jaeger.Trace) {
	const ours = "github.com/tracing-tutorial/tutorial/step10-opentelemetry-native"
	services := map[string]bool{}
	for _, span := range trace.Spans {
		name := trace.ServiceName(span) + ": " + span.OperationName
		services[trace.ServiceName(span)] = true
		// The HTTP spans are otelhttp's, with HTTP's semantic conventions
		// and none of OpenTracing's tags; the others are ours.
		scope, _ := span.Tag("otel.scope.name")
		_, method := span.Tag("http.request.method")
		http := strings.HasPrefix(span.OperationName, "GET ") || span.OperationName == "HTTP GET"
		switch {
		case http && (!strings.Contains(fmt.Sprint(scope), "otelhttp") || !method):
			t.Errorf("%s: otel.scope.name %v, http.request.method present: %v; want otelhttp's, with it", name, scope, method)
		case !http && scope != ours:
			t.Errorf("%s: otel.scope.name %v, want the step's tracer", name, scope)
		}
		for _, old := range []string{"http.method", "http.status_code", "http.url", "message_bus.destination"} {
			if value, ok := span.Tag(old); ok {
				t.Errorf("%s: OpenTracing's tag %s=%v", name, old, value)
			}
		}
		// The queue's spans carry the messaging conventions.
		if span.OperationName == "queue.Push" || span.OperationName == "cleanJob" {
			for _, key := range []string{"messaging.system", "messaging.destination.name", "messaging.operation.type", "messaging.message.id"} {
				if _, ok := span.Tag(key); !ok {
					t.Errorf("%s: no tag %s", name, key)
				}
			}
		}
		// The cleaner's span is the producer's child, not a link.
		if name == "cleaner: cleanJob" && (len(span.References) != 1 || span.References[0].RefType != "CHILD_OF") {
			t.Errorf("%s: references %+v, want one CHILD_OF", name, span.References)
		}
	}
	for _, want := range []string{"gateway", "contributors", "cleaner"} {
		if !services[want] {
			t.Errorf("the trace has no span of %s; its services: %v", want, services)
		}
	}
	// The cleaner's log line names whom it cleaned for, and joins the
	// trace: its trace_id is the request's.
	line := regexp.MustCompile(`msg=cleaned .*requested_by=alice.* trace_id=` + trace.TraceID + ` span_id=[0-9a-f]{16}`)
	if out := stack.Programs["cleaner"].Output(); !line.MatchString(out) {
		t.Errorf("the cleaner's log has no line for alice with trace_id=%s and a span_id:\n%s", trace.TraceID, out)
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
