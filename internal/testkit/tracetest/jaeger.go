package tracetest

import (
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
)

// JaegerTree draws a trace read back from Jaeger (traceview.JaegerTree).
func JaegerTree(trace jaeger.Trace) string { return traceview.JaegerTree(trace) }

// HasSpans returns a completeness test for jaeger.Client.WaitForTrace: the
// trace is whole once it has n spans.
func HasSpans(n int) func(jaeger.Trace) bool {
	return func(trace jaeger.Trace) bool { return len(trace.Spans) >= n }
}
