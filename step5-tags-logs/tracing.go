package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/steplib/reporting"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
)

// initTracer creates a Jaeger tracer for service. It reads the standard
// JAEGER_* environment variables: JAEGER_ENDPOINT sends spans over HTTP to
// a collector (http://localhost:14268/api/traces); without it they go over
// UDP to an agent (JAEGER_AGENT_HOST:JAEGER_AGENT_PORT, localhost:6831).
//
// Closing the returned io.Closer flushes the spans still buffered, for 2 s
// at most (reporting.FlushLimit).
func initTracer(service string, logger *slog.Logger) (opentracing.Tracer, io.Closer, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("reading JAEGER_* variables: %w", err)
	}
	cfg.ServiceName = service

	// Left alone, the sampler asks Jaeger which requests to trace and traces
	// none until it has an answer (and Jaeger v2 before 2.16 answers in a
	// format this client cannot read). For a tutorial: trace every request.
	if os.Getenv("JAEGER_SAMPLER_TYPE") == "" {
		cfg.Sampler.Type = jaeger.SamplerTypeConst
		cfg.Sampler.Param = 1
	}
	// 128-bit trace IDs are what Jaeger v2 (and W3C Trace Context) show.
	cfg.Gen128Bit = true
	// Finished spans wait in a queue until they are sent, every second;
	// when it is full, spans are dropped without a word. The default (100
	// spans) overflows at a few hundred requests a second: docs/benchmarks.md.
	if os.Getenv("JAEGER_REPORTER_MAX_QUEUE_SIZE") == "" {
		cfg.Reporter.QueueSize = 10_000
	}

	// The tracer's own troubles (Jaeger unreachable, spans dropped) go to
	// our log instead of being kept quiet: the first at once, then one line
	// every 10 s that counts the rest (internal/steplib/reporting). Its Close sends
	// the spans still queued, for 2 s at most however Jaeger is; the spans
	// it gives up are counted in the log.
	report := reporting.NewJaeger(logger)
	tracer, closer, err := cfg.NewTracer(report.Options()...)
	if err != nil {
		return nil, nil, err
	}
	return tracer, report.Closer(closer), nil
}

// traceRequest gives every request a span named for its route, and tells
// the client the trace ID so that a slow answer leads straight to its trace.
func traceRequest(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		span := opentracing.StartSpan(r.Pattern) // "GET /git/{owner}/{repo}"
		defer span.Finish()
		// OpenTracing's standard tags, which Jaeger (and any other tracer)
		// knows how to show and search.
		ext.SpanKindRPCServer.Set(span)
		ext.HTTPMethod.Set(span, r.Method)
		ext.HTTPUrl.Set(span, r.URL.String())
		// A link to a trace that is not recorded (not sampled) leads nowhere.
		if sc, ok := span.Context().(jaeger.SpanContext); ok && sc.IsSampled() {
			w.Header().Set("X-Trace-Id", sc.TraceID().String())
		}

		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next(recorder, r.WithContext(opentracing.ContextWithSpan(r.Context(), span)))
		ext.HTTPStatusCode.Set(span, uint16(recorder.status))
		if recorder.status >= http.StatusInternalServerError {
			ext.Error.Set(span, true)
		}
	}
}

// logHandler adds the trace_id and span_id of the context's span to every
// line logged with a context (logger.InfoContext(ctx, …)): a log line leads
// to its trace, and a trace to its log lines (grep trace_id=…).
type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc, ok := spanContext(ctx); ok {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

// spanContext is the Jaeger span context of the span in ctx, if any.
func spanContext(ctx context.Context) (jaeger.SpanContext, bool) {
	span := opentracing.SpanFromContext(ctx)
	if span == nil {
		return jaeger.SpanContext{}, false
	}
	sc, ok := span.Context().(jaeger.SpanContext)
	return sc, ok && sc.IsValid()
}

// sampledTraceID is the trace ID of the span in ctx, or "" if its trace is
// not recorded (not sampled): a link to it would lead nowhere.
func sampledTraceID(ctx context.Context) string {
	if sc, ok := spanContext(ctx); ok && sc.IsSampled() {
		return sc.TraceID().String()
	}
	return ""
}
