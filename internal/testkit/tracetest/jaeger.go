package tracetest

import (
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// HasSpans returns a completeness test for jaeger.Client.WaitForTrace: the
// trace is whole once it has n spans.
func HasSpans(n int) func(jaeger.Trace) bool {
	return func(trace jaeger.Trace) bool { return len(trace.Spans) >= n }
}
