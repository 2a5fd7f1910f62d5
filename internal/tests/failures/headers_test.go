package failures

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// TestMalformedTraceHeader: a client's broken uber-trace-id is no error
// of the request: it gets its 200, and its span starts a new trace (step
// 5 reads no trace header at all).
func TestMalformedTraceHeader(t *testing.T) {
	forSteps(t, []int{5, 7}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		for _, bad := range []string{
			"garbage",
			"1:2:3",                              // a part short
			"zzzz:1:0:1",                         // not hex
			"0:0:0:1",                            // no trace ID
			strings.Repeat("f", 4000) + ":1:0:1", // too long to be an ID
			"abc:def:0:1:extra",
		} {
			a := call(t, s.URL+"/git/golang/go", http.Header{"Uber-Trace-Id": {bad}})
			if a.status != http.StatusOK {
				t.Errorf("uber-trace-id %.40q: %d %q, want 200", bad, a.status, a.error)
				continue
			}
			trace := wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", nil, "")
			root, _ := findSpan(trace, "gateway", "GET /git/{owner}/{repo}", nil)
			if root.ParentID() != "" {
				t.Errorf("uber-trace-id %.40q: the request's span has a parent %s, want a new trace", bad, root.ParentID())
			}
			if n == 7 { // the new trace crosses the three services all the same
				wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "cleaner", "cleanJob", nil, "")
			}
		}
		alive(t, s)
		if n == 7 {
			noDeadLetters(t, redisOf(t, s))
		}
	})
}

// TestOversizedBaggage: baggage (uberctx-* headers) travels with every
// call and every job of a request, so step 8's gateway (the first that
// takes a client's baggage) keeps at most 8 items
// of at most 256 bytes each; the rest is dropped, and the request's span
// logs how many. The request itself succeeds. Headers over 16 KiB in all
// are refused by Go's server: 431, in plain text (net/http answers before
// any handler runs).
func TestOversizedBaggage(t *testing.T) {
	t.Parallel()
	s := start(t, 8, stepsuite.Options{})
	many := http.Header{}
	for i := range 100 {
		many.Set(fmt.Sprintf("Uberctx-Item%03d", i), "value")
	}
	for name, header := range map[string]http.Header{
		"100 items":       many,
		"a 10 KiB item":   {"Uberctx-Big": {strings.Repeat("x", 10<<10)}},
		"jaeger-baggage":  {"Jaeger-Baggage": {strings.TrimSuffix(strings.Repeat("k=v,", 100), ",")}},
		"with a trace ID": withTrace(many),
	} {
		a := call(t, s.URL+"/git/golang/go", header)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d %q, want 200", name, a.status, a.error)
			continue
		}
		wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", func(s jaeger.Span) bool {
			return hasLog(s, "baggage dropped")
		}, "a log that baggage was dropped")
		wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "cleaner", "cleanJob", nil, "")
	}

	req, _ := http.NewRequest(http.MethodGet, s.URL+"/git/golang/go", nil)
	req.Header.Set("Uberctx-Huge", strings.Repeat("x", 32<<10))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("32 KiB of headers: %s, want 431", resp.Status)
	}
	alive(t, s)
	noDeadLetters(t, redisOf(t, s))
}

// withTrace is header with a trace context of the client's own.
func withTrace(header http.Header) http.Header {
	header = header.Clone()
	header.Set("Uber-Trace-Id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1")
	return header
}

// TestMethodNotAllowed: every route is GET; another method gets 405 with
// Allow and a JSON error, not a 404 that says the route does not exist.
func TestMethodNotAllowed(t *testing.T) {
	forSteps(t, []int{5, 7, 10}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(method, s.URL+"/git/golang/go", strings.NewReader(`{"x":1}`))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Error string }
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || err != nil || !strings.Contains(body.Error, "method not allowed") {
				t.Errorf("%s /git/golang/go = %s %q (%v), want 405 with a JSON error", method, resp.Status, body.Error, err)
			}
			if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") {
				t.Errorf("%s: Allow %q, want GET", method, allow)
			}
		}
		wantOK(t, s, "golang/go")
		alive(t, s)
	})
}

// TestCallerTraceContext: the trust boundary. A client sends the gateway a
// trace context of its own, made up, with the sampled flag off. The
// gateway, the edge, neither joins that trace (our spans would land in
// someone else's) nor lets its flag switch tracing off: the request's
// trace is a new one, recorded across the three services, named by
// X-Trace-Id, and its gateway span names the caller's trace in the tag
// caller.trace_id. Jaeger has no trace under the caller's ID. Step 10 sends
// W3C's traceparent, and its gateway's span links to the caller's (a
// FOLLOWS_FROM reference into the caller's trace in Jaeger), still no parent.
func TestCallerTraceContext(t *testing.T) {
	forSteps(t, []int{7, 10}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		const caller = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"
		for _, flags := range []string{"0", "1"} { // not sampled, sampled
			header := http.Header{"Uber-Trace-Id": {caller + ":5ca1ab1e5ca1ab1e:0:" + flags}}
			if n == 10 {
				header = http.Header{"Traceparent": {"00-" + caller + "-5ca1ab1e5ca1ab1e-0" + flags}}
			}
			callerTrace(t, s, header, caller, flags, n == 10)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if trace, err := s.Jaeger.Client().WaitForTrace(ctx, caller, func(jaeger.Trace) bool { return true }); err == nil {
			t.Errorf("Jaeger has spans in the caller's trace %s:%s", caller, describe(trace))
		}
		alive(t, s)
		noDeadLetters(t, redisOf(t, s))
	})
}

// callerTrace sends a request with the caller's trace context in header and
// checks its trace: new, recorded across the three services, its gateway
// span without a parent in it, caller.trace_id naming the caller's, and
// (linked) a reference into the caller's trace.
func callerTrace(t *testing.T, s *stepsuite.Stack, header http.Header, caller, flags string, linked bool) {
	t.Helper()
	a := call(t, s.URL+"/git/golang/go", header)
	if a.status != http.StatusOK {
		t.Fatalf("flags %s: %d %q, want 200", flags, a.status, a.error)
	}
	traceID := a.header.Get("X-Trace-Id")
	if traceID == caller || traceID == "" {
		t.Fatalf("flags %s: X-Trace-Id %q, want a trace of the gateway's own", flags, traceID)
	}
	trace := wantSpan(t, s.Jaeger, traceID, "gateway", "GET /git/{owner}/{repo}", func(s jaeger.Span) bool {
		tag, _ := s.Tag("caller.trace_id")
		link := !linked
		for _, ref := range s.References {
			if ref.TraceID != caller {
				return false // a parent in a trace of ours
			}
			link = link || ref.RefType == jaeger.FollowsFrom
		}
		return tag == caller && link
	}, "no parent, caller.trace_id="+caller+" and, if linked, a link to it")
	if _, ok := findSpan(trace, "contributors", "fetchContributorStats", nil); !ok {
		wantSpan(t, s.Jaeger, traceID, "contributors", "fetchContributorStats", nil, "")
	}
	wantSpan(t, s.Jaeger, traceID, "cleaner", "cleanJob", nil, "")
}
