package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	"github.com/uber/jaeger-client-go"
)

// These tests install a global tracer: they must not run in parallel.

// request sends GET base/git/golang/go with headers, and fails the test
// unless the answer is 200.
func request(t *testing.T, base string, headers map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/git/golang/go", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /git/golang/go with %v = %d %s, want 200", headers, resp.StatusCode, body)
	}
}

// last is the last element of s, or the test's end.
func last[T any](t *testing.T, s []T, what string) T {
	t.Helper()
	if len(s) == 0 {
		t.Fatalf("no %s", what)
	}
	return s[len(s)-1]
}

// baggageOf extracts a span context from the carrier with tracer and
// returns its baggage; a span started from it, as the cleaner starts its
// own (FollowsFrom), must have the same.
func baggageOf(t *testing.T, tracer opentracing.Tracer, format, carrier any) map[string]string {
	t.Helper()
	sc, err := tracer.Extract(format, carrier)
	if err != nil {
		t.Fatalf("extracting a span context from %v: %v", carrier, err)
	}
	bag := map[string]string{}
	sc.ForeachBaggageItem(func(k, v string) bool { bag[k] = v; return true })

	span := tracer.StartSpan("cleanJob", opentracing.FollowsFrom(sc))
	defer span.Finish()
	for k, v := range bag {
		if got := span.BaggageItem(k); got != v {
			t.Errorf("a span that follows from %v has baggage %s=%q, want %q", carrier, k, got, v)
		}
	}
	return bag
}

// TestBaggageTravelsToTheCleaner: step 8's lesson in the gateway. Who
// asked (X-Requested-By, or "anonymous") goes into the request span's
// baggage, and from there to the contributors service (HTTP headers) and
// to the cleaner, in the job's headers: two hops away.
func TestBaggageTravelsToTheCleaner(t *testing.T) {
	tracer := tracetest.Install(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL
	for _, tc := range []struct{ header, want string }{
		{"alice", "alice"},
		{"ci.nightly-2", "ci.nightly-2"},
		{"", "anonymous"},
		{"Alice Smith <alice@example.com>", "anonymous"}, // not a short name
		{strings.Repeat("a", 33), "anonymous"},           // too long
	} {
		// A client that traces too: without a trace context, mocktracer
		// gives the request's span the trace ID 0, which its Extract then
		// refuses downstream. (Jaeger's tracer starts a new trace.)
		client := tracer.StartSpan("client")
		headers := map[string]string{}
		tracer.Inject(client.Context(), opentracing.HTTPHeaders, opentracing.TextMapCarrier(headers))
		if tc.header != "" {
			headers["X-Requested-By"] = tc.header
		}
		request(t, base, headers)
		client.Finish()
		toContributors := last(t, stub.Headers(), "request to the contributors service")
		inJob := last(t, cleaner.Headers(), "job")
		want := map[string]string{"requested-by": tc.want}
		if got := baggageOf(t, tracer, opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(toContributors)); !maps.Equal(got, want) {
			t.Errorf("X-Requested-By %q: the contributors service got baggage %v, want %v", tc.header, got, want)
		}
		if got := baggageOf(t, tracer, opentracing.TextMap, opentracing.TextMapCarrier(inJob)); !maps.Equal(got, want) {
			t.Errorf("X-Requested-By %q: the job carries baggage %v, want %v", tc.header, got, want)
		}
	}
}

// installJaeger makes jaeger-client-go's tracer, reporting to memory, the
// global tracer: the baggage headers below are in its format.
func installJaeger(t *testing.T) (*jaeger.Tracer, *jaeger.InMemoryReporter) {
	t.Helper()
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("gateway", jaeger.NewConstSampler(true), reporter, jaeger.TracerOptions.Gen128Bit(true))
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() {
		closer.Close()
		opentracing.SetGlobalTracer(opentracing.NoopTracer{})
	})
	return tracer.(*jaeger.Tracer), reporter
}

// requestSpan returns the last reported request span of the gateway.
func requestSpan(t *testing.T, reporter *jaeger.InMemoryReporter) *jaeger.Span {
	t.Helper()
	var found *jaeger.Span
	for _, s := range reporter.GetSpans() {
		if span := s.(*jaeger.Span); span.OperationName() == "GET /git/{owner}/{repo}" {
			found = span
		}
	}
	if found == nil {
		t.Fatal("no request span reported")
	}
	return found
}

// logged reports whether span has a log with all of fields.
func logged(span *jaeger.Span, fields map[string]string) bool {
	for _, l := range span.Logs() {
		got := map[string]string{}
		for _, f := range l.Fields {
			got[f.Key()] = fmt.Sprint(f.Value())
		}
		match := true
		for k, v := range fields {
			match = match && got[k] == v
		}
		if match {
			return true
		}
	}
	return false
}

// TestClientBaggageLimits: baggage from a client is untrusted. The gateway
// (internal/tracing, since step 7's hardening) keeps at most 8 items of at
// most 256 bytes each (header name and value), and none of jaeger-baggage,
// and logs on its span how many it dropped. The requested-by item is
// always the gateway's own.
func TestClientBaggageLimits(t *testing.T) {
	tracer, reporter := installJaeger(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL
	many, kept := map[string]string{}, map[string]string{"requested-by": "anonymous"}
	for i := range 9 {
		many[fmt.Sprintf("Uberctx-Item-%d", i)] = "x"
		if i < 8 { // the first 8, by name
			kept[fmt.Sprintf("item-%d", i)] = "x"
		}
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    map[string]string // the baggage passed on
		dropped string            // the log's count, "" for no log
	}{
		{"one small item", map[string]string{"Uberctx-Team": "search"},
			map[string]string{"team": "search", "requested-by": "anonymous"}, ""},
		{"too many items", many, kept, "1"},
		{"too many bytes", map[string]string{"Uberctx-Team": "search", "Uberctx-Note": strings.Repeat("x", 256)},
			map[string]string{"team": "search", "requested-by": "anonymous"}, "1"},
		{"jaeger-baggage", map[string]string{"Jaeger-Baggage": "a=1"},
			map[string]string{"requested-by": "anonymous"}, "1"},
		{"requested-by is the gateway's to say", map[string]string{"Uberctx-Requested-By": "admin", "X-Requested-By": "alice"},
			map[string]string{"requested-by": "alice"}, ""},
	} {
		request(t, base, tc.headers)
		toContributors := last(t, stub.Headers(), "request to the contributors service")
		inJob := last(t, cleaner.Headers(), "job")
		if got := baggageOf(t, tracer, opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(toContributors)); !maps.Equal(got, tc.want) {
			t.Errorf("%s: the contributors service got baggage %v, want %v", tc.name, got, tc.want)
		}
		if got := baggageOf(t, tracer, opentracing.TextMap, opentracing.TextMapCarrier(inJob)); !maps.Equal(got, tc.want) {
			t.Errorf("%s: the job carries baggage %v, want %v", tc.name, got, tc.want)
		}
		span := requestSpan(t, reporter)
		if got := logged(span, map[string]string{"event": "baggage dropped"}); got != (tc.dropped != "") ||
			got && !logged(span, map[string]string{"event": "baggage dropped", "dropped": tc.dropped}) {
			t.Errorf("%s: the request span's logs %+v, want one saying %q items were dropped", tc.name, span.Logs(), tc.dropped)
		}
		// jaeger-client-go logs every baggage item set on a span: what
		// goes into baggage is stored in Jaeger.
		if !logged(span, map[string]string{"event": "baggage", "key": "requested-by", "value": tc.want["requested-by"]}) {
			t.Errorf("%s: the request span has no log of its baggage item requested-by (logs %+v)", tc.name, span.Logs())
		}
	}
}

// traceHeaderBytes adds up the bytes (names and values) of the trace
// context's header and of the baggage headers in a carrier.
func traceHeaderBytes(carrier map[string][]string) (context, baggage int) {
	for name, values := range carrier {
		for _, value := range values {
			switch lower := strings.ToLower(name); {
			case lower == jaeger.TraceContextHeaderName:
				context += len(name) + len(value)
			case strings.HasPrefix(lower, jaeger.TraceBaggageHeaderPrefix):
				baggage += len(name) + len(value)
			}
		}
	}
	return context, baggage
}

// TestBaggageCostsBytesOnEveryHop: every item of baggage is sent again on
// every hop: to the contributors service and in every job, and on every
// call they make in turn. go test -v -run BytesOnEveryHop ./step8-baggage/gateway
// prints the figures in the README.
func TestBaggageCostsBytesOnEveryHop(t *testing.T) {
	installJaeger(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL

	clientItems := map[string]string{ // within the limits (8 items, 256 bytes each): passed on
		"Uberctx-Session": strings.Repeat("s", 60), "Uberctx-Experiment": strings.Repeat("e", 60),
		"Uberctx-Locale": "en-GB", "Uberctx-Team": "search",
	}
	clientBytes, _ := baggageBytes(clientItems)
	own := len("uberctx-requested-by") + len("alice")
	for _, tc := range []struct {
		name        string
		headers     map[string]string
		wantBaggage int
	}{
		{"requested-by only", map[string]string{"X-Requested-By": "alice"}, own},
		{"and the client's 4 items", with(clientItems, "X-Requested-By", "alice"), own + clientBytes},
	} {
		request(t, base, tc.headers)
		toContributors := last(t, stub.Headers(), "request to the contributors service")
		inJob := map[string][]string{}
		for k, v := range last(t, cleaner.Headers(), "job") {
			inJob[k] = []string{v}
		}
		for hop, carrier := range map[string]map[string][]string{"to the contributors service": toContributors, "in the job": inJob} {
			context, baggage := traceHeaderBytes(carrier)
			t.Logf("%s, %s: trace context %d bytes, baggage %d bytes", tc.name, hop, context, baggage)
			if baggage != tc.wantBaggage {
				t.Errorf("%s, %s: %d bytes of baggage, want %d", tc.name, hop, baggage, tc.wantBaggage)
			}
			if context == 0 {
				t.Errorf("%s, %s: no trace context", tc.name, hop)
			}
		}
	}
}

// baggageBytes adds up the bytes of the baggage headers among headers.
func baggageBytes(headers map[string]string) (int, int) {
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	_, bytes := traceHeaderBytes(h)
	return bytes, len(h)
}

func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestTheTalksAuthTokenEndsUpInJaeger: the talk's slide put an auth-token
// in baggage. jaeger-client-go logs every item set on a sampled span, value
// and all, and the log is reported with the span: the token would be
// stored in Jaeger. (Its children inherit the item, and Inject sends it on
// every hop.)
func TestTheTalksAuthTokenEndsUpInJaeger(t *testing.T) {
	tracer, reporter := installJaeger(t)
	span := tracer.StartSpan("GET /git/{owner}/{repo}")
	span.SetBaggageItem("auth-token", "Bearer ghp_s3cr3t")
	h := http.Header{}
	tracer.Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(h))
	span.Finish()

	if !logged(requestSpan(t, reporter), map[string]string{"event": "baggage", "key": "auth-token", "value": "Bearer ghp_s3cr3t"}) {
		t.Errorf("the token is not in the span's logs: %+v", requestSpan(t, reporter).Logs())
	}
	if got := h.Get("Uberctx-Auth-Token"); got == "" {
		t.Errorf("the token is not in the injected headers %v", h)
	}
}
