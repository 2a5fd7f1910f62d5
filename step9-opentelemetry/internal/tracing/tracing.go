// Package tracing is step 8's, with the tracer swapped: OpenTelemetry's SDK
// behind the OpenTracing API, through OpenTelemetry's bridge. The programs'
// instrumentation (StartSpan, SetTag, LogFields, Inject, Extract, baggage)
// does not change; only this set-up does.
package tracing

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"
	"github.com/tracing-tutorial/tutorial/internal/steplib/reporting"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelbridge "go.opentelemetry.io/otel/bridge/opentracing"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Init makes an OpenTelemetry tracer for service (unless OTEL_SERVICE_NAME
// names another) and returns it as an OpenTracing tracer. It reads
// OpenTelemetry's standard OTEL_* variables: OTEL_EXPORTER_OTLP_ENDPOINT is where spans go, over OTLP/HTTP (default
// http://localhost:4318, Jaeger's OTLP receiver); OTEL_BSP_SCHEDULE_DELAY
// how often, in milliseconds (default 5000).
//
// Closing the returned io.Closer flushes the spans still buffered, for 2 s
// at most (reporting.FlushLimit).
func Init(service string, logger *slog.Logger) (opentracing.Tracer, io.Closer, error) {
	exporter, err := otlptracehttp.New(context.Background())
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	// The service's name, and what the SDK says of itself (telemetry.sdk.*).
	// service is only the default: OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES (resource.WithFromEnv) win.
	fromEnv, err := resource.New(context.Background(), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, nil, err
	}
	res, err := resource.Merge(resource.NewSchemaless(attribute.String("service.name", service)), fromEnv)
	if err != nil {
		return nil, nil, err
	}
	// Every trace is recorded, unless the caller's traceparent says it is
	// not sampled (ParentBased(AlwaysSample) is the SDK's default).
	// Ended spans wait in a queue until they are sent; when it is full,
	// spans are dropped. The SDK's default queue (2048 spans) is larger
	// than jaeger-client-go's, but we keep step 8's 10,000.
	var batch []sdktrace.BatchSpanProcessorOption
	if os.Getenv("OTEL_BSP_MAX_QUEUE_SIZE") == "" {
		batch = append(batch, sdktrace.WithMaxQueueSize(10_000))
	}
	// The spans ended and the spans sent are counted, for the flush on the
	// way out to say how many it gave up (internal/steplib/reporting).
	report := reporting.NewOTel(logger)
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(report.Counter()),
		sdktrace.WithBatcher(report.Exporter(exporter), batch...), sdktrace.WithResource(res))

	// The bridge: an OpenTracing tracer that makes OpenTelemetry spans.
	bridge, wrapped := otelbridge.NewTracerPair(provider.Tracer("github.com/tracing-tutorial/tutorial/step9-opentelemetry"))
	otel.SetTracerProvider(wrapped)
	// Inject and Extract go through OpenTelemetry's global propagator,
	// which does nothing until it is set: W3C traceparent for the trace
	// context, and W3C baggage for the baggage.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	// The SDK's and the bridge's troubles (Jaeger unreachable) in our log:
	// the first at once, then one line every 10 s that counts the rest.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { report.Log.Error(err.Error()) }))
	bridge.SetWarningHandler(func(msg string) { logger.Warn("opentelemetry bridge: " + msg) })

	// Shutdown flushes the spans still queued, for 2 s at most however
	// Jaeger is; the spans it gives up are counted in the log.
	return bridge, report.Closer(provider.Shutdown), nil
}

// TraceRequest gives every request a span named for its route, and tells
// the client the trace ID so that a slow answer leads straight to its trace.
// If the request's headers carry a trace (traceparent), the span joins it:
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
			// OpenTelemetry has span links: the bridge makes one of a
			// FollowsFrom reference alone (README). The tag stays, for
			// searching.
			span = opentracing.StartSpan(r.Pattern, opentracing.FollowsFrom(parent), ext.SpanKindRPCServer) // "GET /git/{owner}/{repo}"
			if caller, ok := parent.(interface{ TraceID() trace.TraceID }); ok {
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
		if sc, ok := span.Context().(interface {
			TraceID() trace.TraceID
			IsSampled() bool
		}); ok && sc.IsSampled() {
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

// A client's baggage (the W3C baggage header, all items in one) travels on
// with every call and every job of its request: we take a little of it,
// not whatever anybody sends.
const (
	maxBaggageItems    = 8
	maxBaggageItemSize = 256 // bytes, the item's key=value
)

// boundBaggage returns header without the baggage over the limits, and how
// many items it left out. It does not change header.
func boundBaggage(header http.Header) (http.Header, int) {
	values := header.Values("Baggage")
	if len(values) == 0 {
		return header, 0
	}
	var kept []string
	dropped := 0
	for _, value := range values {
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			if len(kept) < maxBaggageItems && len(item) <= maxBaggageItemSize {
				kept = append(kept, item)
				continue
			}
			dropped++
		}
	}
	if dropped == 0 {
		return header, 0
	}
	bounded := header.Clone()
	bounded.Del("Baggage")
	if len(kept) > 0 {
		bounded.Set("Baggage", strings.Join(kept, ","))
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

// spanContext is the span context of the span in ctx, if any: the
// bridge's, which holds OpenTelemetry's.
func spanContext(ctx context.Context) (otelSpanContext, bool) {
	span := opentracing.SpanFromContext(ctx)
	if span == nil {
		return nil, false
	}
	sc, ok := span.Context().(otelSpanContext)
	return sc, ok && sc.IsValid()
}

// otelSpanContext is what the bridge's span contexts tell of themselves.
type otelSpanContext interface {
	TraceID() trace.TraceID
	SpanID() trace.SpanID
	IsSampled() bool
	IsValid() bool
}
