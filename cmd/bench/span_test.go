package main

// The cost of one span, in time and memory:
//
//	go test -run '^$' -bench . -benchmem ./cmd/bench
//
// docs/benchmarks.md has the figures and the machine.

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"
	jaegerclient "github.com/uber/jaeger-client-go"
)

// aSpan is what a step's span does: start from a context, a tag, a log,
// finish.
func aSpan(ctx context.Context) {
	span, _ := opentracing.StartSpanFromContext(ctx, "countCommits")
	span.SetTag("repo", "golang/go")
	span.LogFields(log.Int("contributors", 42))
	span.Finish()
}

func benchmarkSpans(b *testing.B, tracer opentracing.Tracer) {
	root := tracer.StartSpan("GET /git/{owner}/{repo}", ext.SpanKindRPCServer)
	defer root.Finish()
	ctx := opentracing.ContextWithSpan(context.Background(), root)
	old := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	defer opentracing.SetGlobalTracer(old)
	b.ReportAllocs()
	for b.Loop() {
		aSpan(ctx)
	}
}

// BenchmarkSpanNoop: the instrumentation alone, with OpenTracing's no-op
// tracer (what a program gets before it sets a tracer).
func BenchmarkSpanNoop(b *testing.B) { benchmarkSpans(b, opentracing.NoopTracer{}) }

// BenchmarkSpanJaeger: jaeger-client-go, sampled, spans handed to a
// reporter that keeps nothing: the tracer's own cost.
func BenchmarkSpanJaeger(b *testing.B) {
	tracer, closer := jaegerclient.NewTracer("bench", jaegerclient.NewConstSampler(true), jaegerclient.NewNullReporter())
	defer closer.Close()
	benchmarkSpans(b, tracer)
}

// BenchmarkSpanJaegerUnsampled: the same with sampling off, as
// JAEGER_SAMPLER_PARAM=0 would do.
func BenchmarkSpanJaegerUnsampled(b *testing.B) {
	tracer, closer := jaegerclient.NewTracer("bench", jaegerclient.NewConstSampler(false), jaegerclient.NewNullReporter())
	defer closer.Close()
	benchmarkSpans(b, tracer)
}

// BenchmarkInjectExtract: carrying a span context over HTTP headers, once
// each way, as steps 6 and 7 do on every hop.
func BenchmarkInjectExtract(b *testing.B) {
	tracer, closer := jaegerclient.NewTracer("bench", jaegerclient.NewConstSampler(true), jaegerclient.NewNullReporter(), jaegerclient.TracerOptions.Gen128Bit(true))
	defer closer.Close()
	span := tracer.StartSpan("fetchStats")
	defer span.Finish()
	b.ReportAllocs()
	for b.Loop() {
		carrier := opentracing.TextMapCarrier{}
		if err := tracer.Inject(span.Context(), opentracing.TextMap, carrier); err != nil {
			b.Fatal(err)
		}
		if _, err := tracer.Extract(opentracing.TextMap, carrier); err != nil {
			b.Fatal(err)
		}
	}
}
