// Package oteltest is tracetest for steps 9 and 10: OpenTelemetry's SDK,
// behind the OpenTracing bridge as step 9's tracing.Init sets it up
// (Install), or as the global tracer provider as step 10's does
// (InstallSDK), with its spans kept in memory (the SDK's
// sdk/trace/tracetest) instead of exported.
package oteltest

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"go.opentelemetry.io/otel"
	otelbridge "go.opentelemetry.io/otel/bridge/opentracing"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// W3C is the propagator that step 9 sets: traceparent and baggage.
var W3C = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Install makes a bridge tracer over an SDK that keeps its spans in memory
// the global OpenTracing tracer, with the W3C propagator as the global
// one, and puts the no-op tracer and propagator back after the test.
// Tests that install one must not run in parallel with each other.
func Install(t testing.TB) (*otelbridge.BridgeTracer, *tracetest.InMemoryExporter) {
	t.Helper()
	bridge, exporter := New(t)
	opentracing.SetGlobalTracer(bridge)
	otel.SetTextMapPropagator(W3C)
	t.Cleanup(func() {
		opentracing.SetGlobalTracer(opentracing.NoopTracer{})
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator()) // the default: nothing
	})
	return bridge, exporter
}

// InstallSDK makes an SDK that keeps its spans in memory, as soon as they
// end, OpenTelemetry's global tracer provider, with the W3C propagator as
// the global one (step 10's tracing.Init), and puts back what was there
// after the test. Tests that install one must not run in parallel with
// each other.
func InstallSDK(t testing.TB) *tracetest.InMemoryExporter {
	t.Helper()
	exporter := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	previous, propagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(W3C)
	t.Cleanup(func() {
		provider.Shutdown(context.Background())
		otel.SetTracerProvider(previous)
		otel.SetTextMapPropagator(propagator)
	})
	return exporter
}

// Status returns span's status as "Error: message", or "Unset".
func Status(span tracetest.SpanStub) string {
	if span.Status.Description == "" {
		return span.Status.Code.String()
	}
	return span.Status.Code.String() + ": " + span.Status.Description
}

// HasEvent reports whether span has an event named name.
func HasEvent(span tracetest.SpanStub, name string) bool {
	for _, e := range span.Events {
		if e.Name == name {
			return true
		}
	}
	return false
}

// New makes a bridge tracer over an SDK that keeps its spans in memory, as
// soon as they end, and installs nothing.
func New(t testing.TB) (*otelbridge.BridgeTracer, *tracetest.InMemoryExporter) {
	exporter := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { provider.Shutdown(t.Context()) })
	bridge, _ := otelbridge.NewTracerPair(provider.Tracer("oteltest"))
	return bridge, exporter
}

// Find returns the last ended span named name, or fails the test.
func Find(t testing.TB, exporter *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	spans := exporter.GetSpans()
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].Name == name {
			return spans[i]
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q among %q", name, names)
	return tracetest.SpanStub{}
}

// Attr returns the value of span's attribute key, as any, or nil.
func Attr(span tracetest.SpanStub, key string) any {
	for _, kv := range span.Attributes {
		if string(kv.Key) == key {
			return kv.Value.AsInterface()
		}
	}
	return nil
}

// ChildOf reports whether b is a child of a, in its trace.
func ChildOf(a, b tracetest.SpanStub) bool {
	return b.SpanContext.TraceID() == a.SpanContext.TraceID() && b.Parent.SpanID() == a.SpanContext.SpanID()
}

// Span is an ended span, as the in-memory exporter keeps it.
type Span = tracetest.SpanStub
