package tracing

// The bridge's traps, each shown on OpenTelemetry's SDK with its spans in
// memory (internal/testkit/oteltest). These tests set the global tracer and
// propagator: they must not run in parallel.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

var discard = slog.New(slog.DiscardHandler)

// TestInitSetsTheW3CPropagator: after Init, Inject writes W3C traceparent
// and baggage headers.
func TestInitSetsTheW3CPropagator(t *testing.T) {
	t.Cleanup(func() { otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator()) })
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // never reached: no span ends
	tracer, closer, err := Init("test", discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	span := tracer.StartSpan("fetchStats")
	span.SetBaggageItem("requested-by", "alice")
	h := http.Header{}
	if err := tracer.Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(h)); err != nil {
		t.Fatal(err)
	}
	traceID := span.Context().(interface{ TraceID() trace.TraceID }).TraceID()
	// version 00, trace ID, parent span ID, flags 01: sampled.
	want := regexp.MustCompile(`^00-` + traceID.String() + `-[0-9a-f]{16}-01$`)
	if got := h.Get("Traceparent"); !want.MatchString(got) {
		t.Errorf("traceparent = %q, want 00-%s-<span ID>-01", got, traceID)
	}
	if got := h.Get("Baggage"); got != "requested-by=alice" {
		t.Errorf("baggage = %q, want requested-by=alice", got)
	}
	if len(h) != 2 {
		t.Errorf("injected %v, want traceparent and baggage only", h)
	}
}

// TestTrapGlobalPropagatorUnset: the bridge injects and extracts with
// OpenTelemetry's global propagator, which does nothing until it is set.
// Nothing fails: the headers stay empty, and every service starts traces
// of its own.
func TestTrapGlobalPropagatorUnset(t *testing.T) {
	bridge, exporter := oteltest.New(t)
	opentracing.SetGlobalTracer(bridge)
	t.Cleanup(func() { opentracing.SetGlobalTracer(opentracing.NoopTracer{}) })
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator()) // as it is before anyone sets it

	server := httptest.NewServer(TraceRequest(func(w http.ResponseWriter, r *http.Request) {}))
	defer server.Close()
	client := bridge.StartSpan("fetchStats")
	req, _ := http.NewRequest(http.MethodGet, server.URL, nil)
	err := bridge.Inject(client.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))
	if err != nil {
		t.Errorf("Inject: %v, want no error: the trap is that nothing says so", err)
	}
	if req.Header.Get("Traceparent") != "" {
		t.Errorf("without a propagator, Inject wrote traceparent %q", req.Header.Get("Traceparent"))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	client.Finish()

	serverSpan := oteltest.Find(t, exporter, "")
	if serverSpan.Parent.IsValid() || serverSpan.SpanContext.TraceID() == oteltest.Find(t, exporter, "fetchStats").SpanContext.TraceID() {
		t.Errorf("the server's span joined the client's trace without a propagator")
	}
}

// TestTrapSpanKindAfterStart: OpenTelemetry fixes a span's kind when it
// starts. The bridge reads span.kind from the start options; set with
// SetTag afterwards, it is dropped without a word.
func TestTrapSpanKindAfterStart(t *testing.T) {
	bridge, exporter := oteltest.New(t)
	late := bridge.StartSpan("late")
	ext.SpanKindRPCServer.Set(late)
	late.Finish()
	bridge.StartSpan("at start", ext.SpanKindRPCServer).Finish()

	if got := oteltest.Find(t, exporter, "late"); got.SpanKind != trace.SpanKindInternal || oteltest.Attr(got, "span.kind") != nil {
		t.Errorf("span.kind set after the start: kind %v, attribute %v; want internal, none (the trap)", got.SpanKind, oteltest.Attr(got, "span.kind"))
	}
	if got := oteltest.Find(t, exporter, "at start").SpanKind; got != trace.SpanKindServer {
		t.Errorf("span.kind as a start option: kind %v, want server", got)
	}
}

// TestTrapFollowsFromStartsANewTrace: OpenTelemetry has no FollowsFrom. A
// span whose only reference is FollowsFrom gets no parent: it starts a new
// trace, with a link to the span it follows from, and without its baggage.
// ChildOf keeps the trace and the baggage.
func TestTrapFollowsFromStartsANewTrace(t *testing.T) {
	bridge, exporter := oteltest.Install(t)
	push := bridge.StartSpan("queue.Push", ext.SpanKindProducer)
	push.SetBaggageItem("requested-by", "alice")
	headers := map[string]string{}
	if err := bridge.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers)); err != nil {
		t.Fatal(err)
	}
	producer, err := bridge.Extract(opentracing.TextMap, opentracing.TextMapCarrier(headers))
	if err != nil {
		t.Fatal(err)
	}
	follows := bridge.StartSpan("follows", opentracing.FollowsFrom(producer), ext.SpanKindConsumer)
	child := bridge.StartSpan("child", opentracing.ChildOf(producer), ext.SpanKindConsumer)
	if got := follows.BaggageItem("requested-by"); got != "" {
		t.Errorf("the FollowsFrom span has the producer's baggage %q: the bridge used to drop it", got)
	}
	if got := child.BaggageItem("requested-by"); got != "alice" {
		t.Errorf("the ChildOf span's baggage requested-by = %q, want alice", got)
	}
	follows.Finish()
	child.Finish()
	push.Finish()

	p := oteltest.Find(t, exporter, "queue.Push")
	f := oteltest.Find(t, exporter, "follows")
	if f.SpanContext.TraceID() == p.SpanContext.TraceID() || f.Parent.IsValid() {
		t.Errorf("the FollowsFrom span is in the producer's trace (parent %v): the split is gone", f.Parent.SpanID())
	}
	if len(f.Links) != 1 || f.Links[0].SpanContext.SpanID() != p.SpanContext.SpanID() {
		t.Errorf("the FollowsFrom span's links %+v, want one to queue.Push", f.Links)
	}
	if c := oteltest.Find(t, exporter, "child"); !oteltest.ChildOf(p, c) || len(c.Links) != 0 {
		t.Errorf("the ChildOf span is not queue.Push's child in its trace, or has links %+v", c.Links)
	}
}

// TestTrapBaggageNeedsATraceContext: the bridge's Extract returns nothing
// unless there is a valid trace context: baggage alone is lost.
func TestTrapBaggageNeedsATraceContext(t *testing.T) {
	bridge, _ := oteltest.Install(t)
	alone := http.Header{"Baggage": {"requested-by=alice"}}
	if sc, err := bridge.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(alone)); !errors.Is(err, opentracing.ErrSpanContextNotFound) || sc != nil {
		t.Errorf("Extract of baggage alone = %v, %v; want nothing: ErrSpanContextNotFound", sc, err)
	}
	with := http.Header{
		"Baggage":     {"requested-by=alice"},
		"Traceparent": {"00-5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e-5ca1ab1e5ca1ab1e-01"},
	}
	sc, err := bridge.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(with))
	if err != nil {
		t.Fatal(err)
	}
	span := bridge.StartSpan("server", opentracing.ChildOf(sc))
	defer span.Finish()
	if got := span.BaggageItem("requested-by"); got != "alice" {
		t.Errorf("with a traceparent, baggage requested-by = %q, want alice", got)
	}
}

// TestTrapUnsignedTags: OpenTelemetry's attributes have no unsigned
// integers. The bridge makes int64 of the small ones (ext.HTTPStatusCode's
// uint16 is safe), and strings of uint and uint64, which may not fit.
func TestTrapUnsignedTags(t *testing.T) {
	bridge, exporter := oteltest.New(t)
	span := bridge.StartSpan("tags")
	ext.HTTPStatusCode.Set(span, 200) // a uint16
	span.SetTag("uint", uint(7))
	span.SetTag("uint64", uint64(7))
	span.SetTag("int", 7)
	span.Finish()
	got := oteltest.Find(t, exporter, "tags")
	for key, want := range map[string]attribute.Type{
		"http.status_code": attribute.INT64, "uint": attribute.STRING, "uint64": attribute.STRING, "int": attribute.INT64,
	} {
		var found bool
		for _, kv := range got.Attributes {
			if string(kv.Key) == key {
				found = true
				if kv.Value.Type() != want {
					t.Errorf("tag %s: attribute of type %v (%v), want %v", key, kv.Value.Type(), kv.Value.Emit(), want)
				}
			}
		}
		if !found {
			t.Errorf("no attribute %s", key)
		}
	}
}

// TestClientBaggageIsBounded: a client's W3C baggage, as step 7's
// uberctx-* headers were, is kept up to 8 items of up to 256 bytes each; the
// request's span logs how many items were dropped.
func TestClientBaggageIsBounded(t *testing.T) {
	_, exporter := oteltest.Install(t)
	var got map[string]string
	handler := TraceRequest(func(w http.ResponseWriter, r *http.Request) {
		got = map[string]string{}
		opentracing.SpanFromContext(r.Context()).Context().ForeachBaggageItem(func(k, v string) bool { got[k] = v; return true })
	})
	var nine []string
	eight := map[string]string{}
	for i := range 9 {
		nine = append(nine, fmt.Sprintf("item-%d=x", i))
		if i < 8 {
			eight[fmt.Sprintf("item-%d", i)] = "x"
		}
	}
	for _, tc := range []struct {
		baggage []string // header lines
		want    map[string]string
		dropped int64
	}{
		{[]string{"team=search,b=2"}, map[string]string{"team": "search", "b": "2"}, 0},
		{[]string{strings.Join(nine, ",")}, eight, 1},
		{[]string{"team=search", "note=" + strings.Repeat("x", 256)}, map[string]string{"team": "search"}, 1},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Traceparent", "00-5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e-5ca1ab1e5ca1ab1e-01")
		for _, line := range tc.baggage {
			req.Header.Add("Baggage", line)
		}
		handler(httptest.NewRecorder(), req)
		if !maps.Equal(got, tc.want) {
			t.Errorf("baggage %.60q: the request's span has %v, want %v", tc.baggage, got, tc.want)
		}
		span := oteltest.Find(t, exporter, "")
		var dropped int64
		for _, e := range span.Events {
			if e.Name == "baggage dropped" {
				for _, a := range e.Attributes {
					if a.Key == "dropped" {
						dropped = a.Value.AsInt64()
					}
				}
			}
		}
		if dropped != tc.dropped {
			t.Errorf("baggage %.60q: an event says %d items were dropped, want %d", tc.baggage, dropped, tc.dropped)
		}
	}
}
