// Package tracing is step 5's tracing.go, shared by the step's programs:
// the tracer, a span for every request, and the request's log line. In this
// step all three programs use it, and a request's trace crosses from one to
// the next.
package tracing

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"
	"github.com/tracing-tutorial/tutorial/internal/steplib/reporting"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
)

// Init makes a Jaeger tracer for service. It reads the standard JAEGER_*
// environment variables: JAEGER_ENDPOINT sends spans over HTTP to a
// collector (http://localhost:14268/api/traces); without it they go over
// UDP to an agent (JAEGER_AGENT_HOST:JAEGER_AGENT_PORT, localhost:6831).
//
// Closing the returned io.Closer flushes the spans still buffered, for 2 s
// at most (reporting.FlushLimit).
func Init(service string, logger *slog.Logger) (opentracing.Tracer, io.Closer, error) {
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

// TraceRequest gives every request a span named for its route, and tells
// the client the trace ID so that a slow answer leads straight to its trace.
// If the request's headers carry a trace (uber-trace-id), the span joins it:
// for the services behind the gateway, whose callers are our own programs.
func TraceRequest(next http.HandlerFunc) http.HandlerFunc { return traceRequest(next, false) }

// TraceEdgeRequest is TraceRequest for the edge, the gateway, whose callers
// are anybody: a request starts a new trace, always. A trace context it
// carries is untrusted input: it would add our spans to someone else's
// trace, and its sampled flag would switch our tracing off. We record it
// instead, as the tag caller.trace_id (OpenTracing has no span links), and
// keep its baggage, bounded. See the README's "The trust boundary".
func TraceEdgeRequest(next http.HandlerFunc) http.HandlerFunc { return traceRequest(next, true) }

func traceRequest(next http.HandlerFunc, edge bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// No header, or a malformed one, gives a nil parent: a new trace.
		header, dropped := boundBaggage(r.Header)
		parent, _ := opentracing.GlobalTracer().Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(header))
		var span opentracing.Span
		if edge { // a new trace; the caller's is only recorded
			span = opentracing.StartSpan(r.Pattern, ext.SpanKindRPCServer) // "GET /git/{owner}/{repo}"
			if caller, ok := parent.(jaeger.SpanContext); ok {
				span.SetTag("caller.trace_id", caller.TraceID().String())
			}
			if parent != nil {
				parent.ForeachBaggageItem(func(k, v string) bool { span.SetBaggageItem(k, v); return true })
			}
		} else {
			span = opentracing.StartSpan(r.Pattern, opentracing.ChildOf(parent), ext.SpanKindRPCServer)
		}
		defer span.Finish()
		if dropped > 0 {
			span.LogFields(log.String("event", "baggage dropped"), log.Int("dropped", dropped))
		}
		// OpenTracing's standard tags, which Jaeger (and any other tracer)
		// knows how to show and search.
		ext.HTTPMethod.Set(span, r.Method)
		ext.HTTPUrl.Set(span, r.URL.String())
		// A link to a trace that is not recorded (not sampled) leads nowhere.
		if sc, ok := span.Context().(jaeger.SpanContext); ok && sc.IsSampled() {
			w.Header().Set("X-Trace-Id", sc.TraceID().String())
		}

		recorder := &web.StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
		next(recorder, r.WithContext(opentracing.ContextWithSpan(r.Context(), span)))
		ext.HTTPStatusCode.Set(span, uint16(recorder.Status))
		if recorder.Status >= http.StatusInternalServerError {
			ext.Error.Set(span, true)
		}
	}
}

// A client's baggage (uberctx-* headers) travels on with every call and
// every job of its request: we take a little of it, not whatever anybody
// sends. jaeger-baggage, the header for setting baggage by hand, packs any
// number of items in one header: we take none of it.
const (
	maxBaggageItems    = 8
	maxBaggageItemSize = 256 // bytes, the header's name and value
)

// boundBaggage returns header without the baggage over the limits, and how
// many items it left out. It does not change header.
func boundBaggage(header http.Header) (http.Header, int) {
	var names []string
	for name := range header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "uberctx-") || lower == "jaeger-baggage" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return header, 0
	}
	sort.Strings(names)
	bounded, kept, dropped := header.Clone(), 0, 0
	for _, name := range names {
		values := header[name]
		if strings.HasPrefix(strings.ToLower(name), "uberctx-") && kept < maxBaggageItems &&
			len(values) == 1 && len(name)+len(values[0]) <= maxBaggageItemSize {
			kept++
			continue
		}
		delete(bounded, name)
		dropped += len(values)
	}
	return bounded, dropped
}

// LogRequests logs one line per request: method, path, status, duration,
// and the link to its trace in the Jaeger UI. It goes inside TraceRequest:
// the line is logged with the request's context, which holds its span, so
// the line carries the span's trace_id and span_id (LogHandler).
func LogRequests(logger *slog.Logger, jaegerUI string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &web.StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
		next(recorder, r)
		attrs := []any{"method", r.Method, "path", r.URL.Path[:min(len(r.URL.Path), 200)],
			"status", recorder.Status, "duration", time.Since(start)}
		// A link to a trace that is not recorded (not sampled) leads nowhere.
		if sc, ok := spanContext(r.Context()); ok && sc.IsSampled() {
			attrs = append(attrs, "trace", jaegerUI+"/trace/"+sc.TraceID().String())
		}
		logger.InfoContext(r.Context(), "request", attrs...)
	}
}

// LogHandler adds the trace_id and span_id of the context's span to every
// line logged with a context (logger.InfoContext(ctx, …)): a log line leads
// to its trace, and a trace to its log lines (grep trace_id=…).
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

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

// spanContext is the span context of the span in ctx, if any.
func spanContext(ctx context.Context) (jaeger.SpanContext, bool) {
	span := opentracing.SpanFromContext(ctx)
	if span == nil {
		return jaeger.SpanContext{}, false
	}
	sc, ok := span.Context().(jaeger.SpanContext)
	return sc, ok && sc.IsValid()
}
