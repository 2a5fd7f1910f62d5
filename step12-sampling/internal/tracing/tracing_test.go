package tracing

// Init's configuration from the environment, the one trap left on the
// native API (the propagator), and what this package adds to otelhttp.
// These tests set OpenTelemetry's globals: they must not run in parallel.

import (
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

var discard = slog.New(slog.DiscardHandler)

// receiver is an OTLP/HTTP receiver of the test's own: it keeps the bodies
// of the exports it gets (protobuf, in which strings are plain bytes).
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
}

func (r *receiver) all() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Join(r.bodies, nil)
}

// export runs Init with env, ends one span named "probe", shuts the SDK
// down (which flushes it), and returns what the receiver got, and whether
// the span was sampled.
func export(t *testing.T, env map[string]string) ([]byte, bool) {
	t.Helper()
	previous, propagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(previous); otel.SetTextMapPropagator(propagator) })
	recv := &receiver{}
	server := httptest.NewServer(recv)
	defer server.Close()
	for _, key := range []string{"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"} {
		t.Setenv(key, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.URL)
	for key, value := range env {
		t.Setenv(key, value)
	}
	closer, err := Init(context.Background(), "gateway", discard)
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer(Scope).Start(context.Background(), "probe")
	sampled := span.SpanContext().IsSampled()
	span.End()
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	return recv.all(), sampled
}

// TestInitReadsTheStandardEnvironment: the program's name ("gateway") is
// only the default; OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_ENDPOINT (every case: the test's receiver) and
// OTEL_TRACES_SAMPLER(_ARG) decide.
func TestInitReadsTheStandardEnvironment(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		got, sampled := export(t, nil)
		if !sampled || !bytes.Contains(got, []byte("probe")) || !bytes.Contains(got, []byte("gateway")) {
			t.Errorf("sampled %v; the export (%d bytes) names the span: %v, the service gateway: %v; want all",
				sampled, len(got), bytes.Contains(got, []byte("probe")), bytes.Contains(got, []byte("gateway")))
		}
	})
	t.Run("OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES", func(t *testing.T) {
		got, _ := export(t, map[string]string{"OTEL_SERVICE_NAME": "front-door", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=workshop"})
		for _, want := range []string{"probe", "front-door", "deployment.environment.name", "workshop"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("the export has no %q", want)
			}
		}
		if bytes.Contains(got, []byte("gateway")) {
			t.Error(`OTEL_SERVICE_NAME=front-door, yet the export names the service "gateway"`)
		}
	})
	t.Run("service.name in OTEL_RESOURCE_ATTRIBUTES", func(t *testing.T) {
		got, _ := export(t, map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=edge"})
		if !bytes.Contains(got, []byte("edge")) || bytes.Contains(got, []byte("gateway")) {
			t.Errorf("OTEL_RESOURCE_ATTRIBUTES=service.name=edge: the export names edge: %v, gateway: %v; want edge alone",
				bytes.Contains(got, []byte("edge")), bytes.Contains(got, []byte("gateway")))
		}
	})
	t.Run("OTEL_TRACES_SAMPLER", func(t *testing.T) {
		got, sampled := export(t, map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"})
		if sampled || bytes.Contains(got, []byte("probe")) {
			t.Errorf("a sampler that keeps no trace: sampled %v, exported: %v; want neither", sampled, bytes.Contains(got, []byte("probe")))
		}
	})
}

// call sends GET through otelhttp's transport, from a span of its own, to
// a server behind otelhttp's handler, and returns the server's span
// context and the headers it got.
func call(t *testing.T) (client, server trace.SpanContext, header http.Header) {
	t.Helper()
	backend := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server, header = trace.SpanContextFromContext(r.Context()), r.Header.Clone()
	}), "backend"))
	defer backend.Close()
	ctx, span := otel.Tracer("test").Start(context.Background(), "caller")
	defer span.End()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL, nil)
	resp, err := (&http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return span.SpanContext(), server, header
}

// TestTrapGlobalPropagatorUnset: otelhttp (and our queue) inject and
// extract with OpenTelemetry's global propagator, which does nothing until
// it is set (Init sets it). Nothing fails: no header goes out, and the
// server starts a trace of its own. Step 7's lesson silently undone.
func TestTrapGlobalPropagatorUnset(t *testing.T) {
	oteltest.InstallSDK(t)
	client, server, header := call(t)
	if server.TraceID() != client.TraceID() || header.Get("Traceparent") == "" {
		t.Fatalf("with the W3C propagator: server in trace %s, client in %s, traceparent %q; want one trace", server.TraceID(), client.TraceID(), header.Get("Traceparent"))
	}

	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator()) // the default: nothing
	client, server, header = call(t)
	if server.TraceID() == client.TraceID() || header.Get("Traceparent") != "" {
		t.Errorf("without a propagator: server in trace %s, client in %s, traceparent %q; want two traces and no header", server.TraceID(), client.TraceID(), header.Get("Traceparent"))
	}
}

// TestInitSetsTheW3CPropagator: after Init, the global propagator writes
// W3C traceparent and baggage.
func TestInitSetsTheW3CPropagator(t *testing.T) {
	previous, propagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(previous); otel.SetTextMapPropagator(propagator) })
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // never reached: no span ends
	closer, err := Init(context.Background(), "test", discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	member, _ := baggage.NewMemberRaw("requested-by", "alice")
	bag, _ := baggage.New(member)
	ctx, span := otel.Tracer(Scope).Start(baggage.ContextWithBaggage(context.Background(), bag), "queue.Push")
	headers := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if headers["traceparent"] != want || headers["baggage"] != "requested-by=alice" || len(headers) != 2 {
		t.Errorf("injected %v, want traceparent %s and baggage requested-by=alice only", headers, want)
	}
}

// TestTraceRequestSaysTheTraceID: X-Trace-Id is the trace ID of
// otelhttp's span for the request.
func TestTraceRequestSaysTheTraceID(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	handler := otelhttp.NewHandler(TraceRequest(func(w http.ResponseWriter, r *http.Request) {}), "test")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	span := oteltest.Find(t, exporter, "GET")
	if got := rec.Header().Get("X-Trace-Id"); got != span.SpanContext.TraceID().String() {
		t.Errorf("X-Trace-Id = %q, want the span's trace ID %s", got, span.SpanContext.TraceID())
	}
}

// TestClientBaggageIsBounded: a client's W3C baggage, like step 7's
// uberctx-* headers, is kept up to 8 items of up to 256 bytes each; the
// request's span says how many items were dropped.
func TestClientBaggageIsBounded(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	var got map[string]string
	handler := otelhttp.NewHandler(TraceRequest(func(w http.ResponseWriter, r *http.Request) {
		got = map[string]string{}
		for _, m := range baggage.FromContext(r.Context()).Members() {
			got[m.Key()] = m.Value()
		}
	}), "test")
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
		exporter.Reset()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, line := range tc.baggage {
			req.Header.Add("Baggage", line)
		}
		handler.ServeHTTP(httptest.NewRecorder(), req)
		if !maps.Equal(got, tc.want) {
			t.Errorf("baggage %.60q: the handler has %v, want %v", tc.baggage, got, tc.want)
		}
		var dropped int64
		for _, e := range oteltest.Find(t, exporter, "GET").Events {
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

// TestLogHandlerAddsTheSpan: a line logged with a span's context carries
// its trace_id and span_id; one without a span, neither.
func TestLogHandlerAddsTheSpan(t *testing.T) {
	oteltest.InstallSDK(t)
	var out bytes.Buffer
	logger := slog.New(LogHandler(slog.NewTextHandler(&out, nil))).With("service", "test")
	ctx, span := otel.Tracer("test").Start(context.Background(), "cleanJob")
	defer span.End()
	logger.InfoContext(ctx, "cleaned")
	logger.InfoContext(context.Background(), "listening")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	sc := span.SpanContext()
	if want := fmt.Sprintf("trace_id=%s span_id=%s", sc.TraceID(), sc.SpanID()); len(lines) != 2 || !strings.Contains(lines[0], want) || !strings.Contains(lines[0], "service=test") {
		t.Errorf("log %q: want its first line with service=test and %s", lines, want)
	}
	if len(lines) == 2 && strings.Contains(lines[1], "trace_id") {
		t.Errorf("a line logged without a span has a trace_id: %s", lines[1])
	}
}

// TestNoOpenTracing: step 10 is OpenTelemetry's own API. None of its files,
// tests included, imports OpenTracing, jaeger-client-go or the bridge.
func TestNoOpenTracing(t *testing.T) {
	files := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			for _, banned := range []string{`"github.com/opentracing/`, `"github.com/uber/jaeger-client-go`, `"go.opentelemetry.io/otel/bridge/`} {
				if strings.HasPrefix(imp.Path.Value, banned) {
					t.Errorf("%s imports %s", path, imp.Path.Value)
				}
			}
		}
		return nil
	})
	if err != nil || files < 10 {
		t.Fatalf("read %d Go files of the step: %v", files, err)
	}
}
