// Package tracing sets up OpenTelemetry's SDK for the step's programs, from
// OpenTelemetry's standard environment, and holds the little that the
// instrumentation libraries do not do for us: the trace ID for the client,
// the bounds on a client's baggage, the trace in the log.
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

	"github.com/tracing-tutorial/tutorial/internal/steplib/reporting"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/contrib/samplers/jaegerremote"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope names the step's tracer: our hand-written spans carry it as
// otel.scope.name; otelhttp's carry otelhttp's.
const Scope = "github.com/tracing-tutorial/tutorial/step12-sampling"

// Init makes OpenTelemetry's SDK the global tracer provider, configured by
// OpenTelemetry's standard variables: OTEL_SERVICE_NAME (service is only
// the default), OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT
// (default http://localhost:4318, Jaeger's OTLP receiver),
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default
// parentbased_always_on; parentbased_traceidratio with 0.1 keeps one trace
// in ten; parentbased_jaeger_remote asks Jaeger, see remoteSampler),
// OTEL_BSP_SCHEDULE_DELAY.
//
// Closing the returned io.Closer flushes the spans still buffered, for 2 s
// at most (reporting.FlushLimit).
func Init(ctx context.Context, service string, logger *slog.Logger) (io.Closer, error) {
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	// What the environment says (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)
	// and what the SDK says of itself (telemetry.sdk.*), merged over our
	// default name: the environment wins.
	fromEnv, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.NewSchemaless(semconv.ServiceName(service)), fromEnv)
	if err != nil {
		return nil, err
	}
	// Ended spans wait in a queue until they are sent; when it is full,
	// spans are dropped. We keep step 8's 10,000 (the SDK's: 2048).
	var batch []sdktrace.BatchSpanProcessorOption
	if os.Getenv("OTEL_BSP_MAX_QUEUE_SIZE") == "" {
		batch = append(batch, sdktrace.WithMaxQueueSize(10_000))
	}
	// The spans ended and the spans sent are counted, for the flush on the
	// way out to say how many it gave up (internal/steplib/reporting).
	report := reporting.NewOTel(logger)
	options := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(report.Counter()),
		sdktrace.WithBatcher(report.Exporter(exporter), batch...), sdktrace.WithResource(res)}
	// The sampler decides, as each trace starts, whether it is recorded:
	// the head of the trace decides for all of it. Without WithSampler the
	// SDK reads OTEL_TRACES_SAMPLER itself; only Jaeger's remote sampler
	// it does not know.
	remote := remoteSampler(res)
	// The SDK's troubles (Jaeger unreachable) in our log: the first at
	// once, then one line every 10 s that counts the rest. The SDK reads
	// OTEL_TRACES_SAMPLER too, and reports the remote sampler, which it
	// does not know, as unsupported: remoteSampler took it, no trouble.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if remote == nil || err.Error() != "unsupported sampler: parentbased_jaeger_remote" {
			report.Log.Error(err.Error())
		}
	}))
	if remote != nil {
		options = append(options, sdktrace.WithSampler(sdktrace.ParentBased(remote)))
	}
	provider := sdktrace.NewTracerProvider(options...)
	otel.SetTracerProvider(provider)
	// otelhttp and our queue carry the context with the global propagator,
	// which does nothing until it is set: W3C traceparent for the trace
	// context, and W3C baggage for the baggage.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	// Shutdown flushes the spans still queued, for 2 s at most however
	// Jaeger is; the spans it gives up are counted in the log.
	return report.Closer(func(ctx context.Context) error {
		if remote != nil {
			defer remote.Close() // stops its polling
		}
		return provider.Shutdown(ctx)
	}), nil
}

// remoteSampler returns Jaeger's remote sampler when OTEL_TRACES_SAMPLER
// is parentbased_jaeger_remote (nil otherwise). It asks Jaeger's
// collector (its remote_sampling extension) how to sample this service,
// then again every pollingIntervalMs: change Jaeger's strategies file and
// the rate changes, without a restart. OTEL_TRACES_SAMPLER_ARG says where
// and how often, as OpenTelemetry's specification has it:
// endpoint=http://127.0.0.1:5778/sampling,pollingIntervalMs=5000,initialSamplingRate=1
// (initialSamplingRate holds until the first answer, and while Jaeger
// cannot be reached).
func remoteSampler(res *resource.Resource) *jaegerremote.Sampler {
	if os.Getenv("OTEL_TRACES_SAMPLER") != "parentbased_jaeger_remote" {
		return nil
	}
	service, _ := res.Set().Value(semconv.ServiceNameKey)
	// jaegerremote reads OTEL_TRACES_SAMPLER_ARG itself.
	return jaegerremote.New(service.AsString())
}

// NotHealthz keeps docker compose's health checks, every few seconds, out
// of the traces: otelhttp.NewHandler(h, name, tracing.NotHealthz).
var NotHealthz = otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" })

// TraceRequest tells the client the trace ID of its request, so that a slow
// answer leads straight to its trace, and bounds the client's baggage.
// The span is otelhttp's: its handler started it, from the request's
// traceparent if there is one, and ends it with the status: for the
// services behind the gateway, whose callers are our own programs.
func TraceRequest(next http.HandlerFunc) http.HandlerFunc { return traceRequest(next, false) }

// PublicEndpoint is the option of the edge's otelhttp.NewHandler: the
// gateway's callers are anybody, and a trace context they send is
// untrusted input (it would add our spans to someone else's trace, and its
// sampled flag would switch our tracing off). Each request starts a new
// trace, linked to the caller's. See the README's "The trust boundary".
var PublicEndpoint = otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true })

// TraceEdgeRequest is TraceRequest for the edge, behind PublicEndpoint: it
// also names the caller's trace in the attribute caller.trace_id, which
// Jaeger searches (a link it only shows).
func TraceEdgeRequest(next http.HandlerFunc) http.HandlerFunc { return traceRequest(next, true) }

func traceRequest(next http.HandlerFunc, edge bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		if edge { // otelhttp linked the caller's trace, if it sent a valid one
			caller := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
			if caller.IsValid() {
				span.SetAttributes(attribute.String("caller.trace_id", caller.TraceID().String()))
			}
		}
		if header, dropped := boundBaggage(r.Header); dropped > 0 {
			// otelhttp took the client's baggage as it came: take it again,
			// from the bounded header.
			ctx = propagation.Baggage{}.Extract(baggage.ContextWithoutBaggage(ctx), propagation.HeaderCarrier(header))
			span.AddEvent("baggage dropped", trace.WithAttributes(attribute.Int("dropped", dropped)))
		}
		// A link to a trace that is not recorded (not sampled) leads nowhere.
		if sc := span.SpanContext(); sc.IsSampled() {
			w.Header().Set("X-Trace-Id", sc.TraceID().String())
		}
		next(w, r.WithContext(ctx))
	}
}

// Failed marks span as failed with err: its status (ERROR, with the
// message) and err as an event, "exception", with its type and message.
func Failed(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// LogRequests logs one line per request: method, path, status, duration,
// and the link to the request's trace in the Jaeger UI. It goes inside
// otelhttp's handler: the line is logged with the request's context, which
// holds its span, so the line carries the span's trace_id and span_id
// (LogHandler), and the link is the span's trace.
func LogRequests(logger *slog.Logger, jaegerUI string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &web.StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		if r.URL.Path == "/healthz" && recorder.Status == http.StatusOK {
			return // docker compose asks every few seconds: no news
		}
		attrs := []any{"method", r.Method, "path", r.URL.Path[:min(len(r.URL.Path), 200)],
			"status", recorder.Status, "duration", time.Since(start)}
		// A link to a trace that is not recorded (not sampled) leads nowhere.
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsSampled() {
			attrs = append(attrs, "trace", jaegerUI+"/trace/"+sc.TraceID().String())
		}
		logger.InfoContext(r.Context(), "request", attrs...)
	})
}

// LogHandler adds the trace_id and span_id of the context's span to every
// line logged with a context (logger.InfoContext(ctx, …)), so that a log
// line leads to its trace and its span, and a trace to its log lines.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

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
