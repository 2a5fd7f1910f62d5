package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

// These tests install a global tracer provider: they must not run in
// parallel.

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

// baggageOf extracts the baggage from carrier with the global propagator,
// as otelhttp's handler and the cleaner do.
func baggageOf(carrier propagation.TextMapCarrier) map[string]string {
	bag := map[string]string{}
	for _, m := range baggage.FromContext(otel.GetTextMapPropagator().Extract(context.Background(), carrier)).Members() {
		bag[m.Key()] = m.Value()
	}
	return bag
}

// TestBaggageTravelsToTheCleaner: step 8's lesson in the gateway. Who
// asked (X-Requested-By, or "anonymous") goes into the request span's
// baggage, and from there to the contributors service (HTTP headers) and
// to the cleaner, in the job's headers: two hops away.
func TestBaggageTravelsToTheCleaner(t *testing.T) {
	oteltest.InstallSDK(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL
	for _, tc := range []struct{ header, want string }{
		{"alice", "alice"},
		{"ci.nightly-2", "ci.nightly-2"},
		{"", "anonymous"},
		{"Alice Smith <alice@example.com>", "anonymous"}, // not a short name
		{strings.Repeat("a", 33), "anonymous"},           // too long
	} {
		headers := map[string]string{}
		if tc.header != "" {
			headers["X-Requested-By"] = tc.header
		}
		request(t, base, headers)
		toContributors := last(t, stub.Headers(), "request to the contributors service")
		inJob := last(t, cleaner.Headers(), "job")
		want := map[string]string{"requested-by": tc.want}
		if got := baggageOf(propagation.HeaderCarrier(toContributors)); !maps.Equal(got, want) {
			t.Errorf("X-Requested-By %q: the contributors service got baggage %v, want %v", tc.header, got, want)
		}
		if got := baggageOf(propagation.MapCarrier(inJob)); !maps.Equal(got, want) {
			t.Errorf("X-Requested-By %q: the job carries baggage %v, want %v", tc.header, got, want)
		}
	}
}

// clientTrace is a client's own trace context. Step 9's bridge dropped a
// client's baggage without one; OpenTelemetry's own API keeps it.
const clientTrace = "00-5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e-5ca1ab1e5ca1ab1e-01"

// TestClientBaggageLimits: baggage from a client is untrusted. The gateway
// (internal/tracing, step 7's hardening in W3C's format) keeps at most 8
// items of at most 256 bytes each, and logs on its span how many it
// dropped. The requested-by item is always the gateway's own.
func TestClientBaggageLimits(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL
	var many []string
	kept := map[string]string{"requested-by": "anonymous"}
	for i := range 9 {
		many = append(many, fmt.Sprintf("item-%d=x", i))
		if i < 8 {
			kept[fmt.Sprintf("item-%d", i)] = "x"
		}
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    map[string]string // the baggage passed on
		dropped bool
	}{
		{"one small item", map[string]string{"Baggage": "team=search", "Traceparent": clientTrace},
			map[string]string{"team": "search", "requested-by": "anonymous"}, false},
		{"too many items", map[string]string{"Baggage": strings.Join(many, ","), "Traceparent": clientTrace},
			kept, true},
		{"too many bytes", map[string]string{"Baggage": "team=search,note=" + strings.Repeat("x", 256), "Traceparent": clientTrace},
			map[string]string{"team": "search", "requested-by": "anonymous"}, true},
		{"requested-by is the gateway's to say", map[string]string{"Baggage": "requested-by=admin", "X-Requested-By": "alice", "Traceparent": clientTrace},
			map[string]string{"requested-by": "alice"}, false},
		{"baggage without a trace context is kept", map[string]string{"Baggage": "team=search"},
			map[string]string{"team": "search", "requested-by": "anonymous"}, false},
	} {
		request(t, base, tc.headers)
		toContributors := last(t, stub.Headers(), "request to the contributors service")
		inJob := last(t, cleaner.Headers(), "job")
		if got := baggageOf(propagation.HeaderCarrier(toContributors)); !maps.Equal(got, tc.want) {
			t.Errorf("%s: the contributors service got baggage %v, want %v", tc.name, got, tc.want)
		}
		if got := baggageOf(propagation.MapCarrier(inJob)); !maps.Equal(got, tc.want) {
			t.Errorf("%s: the job carries baggage %v, want %v", tc.name, got, tc.want)
		}
		span := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}")
		if got := oteltest.HasEvent(span, "baggage dropped"); got != tc.dropped {
			t.Errorf("%s: the request span has an event saying client baggage was dropped: %v, want %v (events %+v)", tc.name, got, tc.dropped, span.Events)
		}
		// Unlike jaeger-client-go, OpenTelemetry records no event for a
		// baggage item: the span says nothing of it.
		if oteltest.HasEvent(span, "baggage") {
			t.Errorf("%s: the request span has an event for its baggage: %+v", tc.name, span.Events)
		}
	}
}

// traceHeaderBytes adds up the bytes (names and values) of the trace
// context's header and of the baggage header in a carrier.
func traceHeaderBytes(carrier map[string][]string) (context, baggage int) {
	for name, values := range carrier {
		for _, value := range values {
			switch strings.ToLower(name) {
			case "traceparent":
				context += len(name) + len(value)
			case "baggage":
				baggage += len(name) + len(value)
			}
		}
	}
	return context, baggage
}

// TestBaggageCostsBytesOnEveryHop: every item of baggage is sent again on
// every hop: to the contributors service and in every job, and on every
// call they make in turn. go test -v -run BytesOnEveryHop ./step9-opentelemetry/gateway
// prints the figures in step 9's README; they are the same here.
func TestBaggageCostsBytesOnEveryHop(t *testing.T) {
	oteltest.InstallSDK(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL

	// Within the limits (8 items, 256 bytes each), passed on: one header,
	// "baggage", for all items.
	clientItems := map[string]string{
		"Baggage":     "session=" + strings.Repeat("s", 60) + ",experiment=" + strings.Repeat("e", 60) + ",locale=en-GB,team=search",
		"Traceparent": clientTrace,
	}
	own := len("baggage") + len("requested-by=alice")
	clientBytes := len(",") + len(clientItems["Baggage"]) // added to the same header
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

func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
