package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
}

// The routes wrapped in otelhttp's handler, as main.go serves them.
var contributors = stepsuite.Contributors{Handler: func(githubURL, token string) http.Handler {
	app := &app{github: newGitHubClient(githubURL, token), githubTimeout: time.Second}
	return otelhttp.NewHandler(app.routes(), "contributors", tracing.NotHealthz)
}}

// TestContributors: what every distributed step's contributors service
// keeps (internal/lesson).
func TestContributors(t *testing.T) { stepsuite.TestContributors(t, contributors) }

// The tests below install a global tracer provider: they must not run in
// parallel.

// get sends req and fails the test unless the answer is status.
func get(t *testing.T, req *http.Request, status int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Read to the end: the request's span ends before the body does.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != status {
		t.Fatalf("GET %s = %d (%v), want %d", req.URL, resp.StatusCode, err, status)
	}
}

// fromGateway returns a request for path with the context of a client
// span of the test's own (the gateway's, with requested-by=alice in its
// baggage) in its headers, as otelhttp's transport writes them, and that
// span, to be ended.
func fromGateway(t *testing.T, base, path string) (*http.Request, trace.Span) {
	t.Helper()
	member, _ := baggage.NewMemberRaw("requested-by", "alice")
	bag, _ := baggage.New(member)
	ctx, client := otel.Tracer("test").Start(baggage.ContextWithBaggage(context.Background(), bag), "HTTP GET",
		trace.WithSpanKind(trace.SpanKindClient))
	req, _ := http.NewRequest("GET", base+path, nil)
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	return req, client
}

// TestSpansOfARequest: what otelhttp makes and what we still write. The
// server span (otelhttp's handler) continues the caller's trace and is
// named for the route, with HTTP's semantic conventions; under it our
// fetchContributorStats, and under that a client span (otelhttp's
// transport) for the call to GitHub, with its URL and status.
func TestSpansOfARequest(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	_, base := contributors.Start(t, "")
	req, client := fromGateway(t, base, "/stats/golang/go")
	get(t, req, http.StatusOK)
	client.End()

	caller := oteltest.Find(t, exporter, "HTTP GET") // the last: ours, which ended last
	server := oteltest.Find(t, exporter, "GET /stats/{owner}/{repo}")
	fetch := oteltest.Find(t, exporter, "fetchContributorStats")
	var github oteltest.Span
	for _, s := range exporter.GetSpans() {
		if s.Name == "HTTP GET" && oteltest.ChildOf(fetch, s) {
			github = s
		}
	}
	if !oteltest.ChildOf(caller, server) || !oteltest.ChildOf(server, fetch) || !github.SpanContext.IsValid() {
		t.Fatalf("spans %v: want the caller's HTTP GET > GET /stats/{owner}/{repo} > fetchContributorStats > HTTP GET", names(exporter.GetSpans()))
	}
	if server.SpanKind != trace.SpanKindServer || fetch.SpanKind != trace.SpanKindInternal || github.SpanKind != trace.SpanKindClient {
		t.Errorf("kinds: server %v, fetchContributorStats %v, GitHub's call %v; want server, internal, client", server.SpanKind, fetch.SpanKind, github.SpanKind)
	}
	for span, want := range map[*oteltest.Span]map[string]any{
		&server: {"http.request.method": "GET", "http.response.status_code": int64(200), "url.path": "/stats/golang/go", "repo": "golang/go"},
		&fetch:  {"repo": "golang/go"},
		&github: {"http.request.method": "GET", "http.response.status_code": int64(200), "server.address": "127.0.0.1"},
	} {
		for key, value := range want {
			if got := oteltest.Attr(*span, key); got != value {
				t.Errorf("%s: attribute %s = %v (%T), want %v", span.Name, key, got, got, value)
			}
		}
	}
	if url, _ := oteltest.Attr(github, "url.full").(string); !strings.HasSuffix(url, "/repos/golang/go/stats/contributors") {
		t.Errorf("GitHub's call: url.full = %q, want GitHub's statistics URL", url)
	}
	if fetch.InstrumentationScope.Name != tracing.Scope || !strings.Contains(server.InstrumentationScope.Name, "otelhttp") {
		t.Errorf("scopes: fetchContributorStats %q, the server span %q; want ours and otelhttp's", fetch.InstrumentationScope.Name, server.InstrumentationScope.Name)
	}
}

// names are the spans' names.
func names(spans []oteltest.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// TestGitHubFailureMarksTheSpans: GitHub's 500 shows on otelhttp's client
// span (status ERROR, the status code) and on ours, with the error as an
// event; and our client's 502 on the server span.
func TestGitHubFailureMarksTheSpans(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	_, base := contributors.Start(t, "")
	req, _ := http.NewRequest("GET", base+"/stats/broken/repo", nil)
	get(t, req, http.StatusBadGateway)

	fetch := oteltest.Find(t, exporter, "fetchContributorStats")
	if fetch.Status.Code != codes.Error || !oteltest.HasEvent(fetch, "exception") {
		t.Errorf("fetchContributorStats: status %s, events %+v; want Error and an exception event", oteltest.Status(fetch), fetch.Events)
	}
	github := oteltest.Find(t, exporter, "HTTP GET")
	if github.Status.Code != codes.Error || oteltest.Attr(github, "http.response.status_code") != int64(500) {
		t.Errorf("GitHub's call: status %s, status code %v; want Error and 500", oteltest.Status(github), oteltest.Attr(github, "http.response.status_code"))
	}
	server := oteltest.Find(t, exporter, "GET /stats/{owner}/{repo}")
	if server.Status.Code != codes.Error || oteltest.Attr(server, "http.response.status_code") != int64(502) {
		t.Errorf("the server span: status %s, status code %v; want Error and 502", oteltest.Status(server), oteltest.Attr(server, "http.response.status_code"))
	}
}

// TestRetriesShowAsCalls: each time GitHub answers 202 (statistics not
// ready), our span notes the retry, and each call has its own client span.
func TestRetriesShowAsCalls(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	_, base := contributors.Start(t, "")
	req, _ := http.NewRequest("GET", base+"/stats/computing/repo", nil)
	get(t, req, http.StatusBadGateway)

	fetch := oteltest.Find(t, exporter, "fetchContributorStats")
	calls, retries := 0, 0
	for _, s := range exporter.GetSpans() {
		if s.Name == "HTTP GET" && oteltest.ChildOf(fetch, s) {
			calls++
		}
	}
	for _, e := range fetch.Events {
		if e.Name == "statistics not ready (202), retrying" {
			retries++
		}
	}
	if want := len(statsRetryDelays) + 1; calls != want || retries != want-1 {
		t.Errorf("%d calls to GitHub and %d retry events, want %d and %d", calls, retries, want, want-1)
	}
}

// TestMalformedTraceHeader: a broken trace context must not break the
// request; the request starts a trace of its own.
func TestMalformedTraceHeader(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	_, base := contributors.Start(t, "")
	req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
	req.Header.Set("Traceparent", "00-not-a-trace-01")
	get(t, req, http.StatusOK)
	if span := oteltest.Find(t, exporter, "GET /stats/{owner}/{repo}"); span.Parent.IsValid() || !span.SpanContext.IsValid() {
		t.Errorf("the request's span has parent %v, want a new root", span.Parent.SpanID())
	}
}

// TestNoTraceHeadersToGitHub: the trace stops at our edge. GitHub gets
// neither the trace context nor the baggage that came with the request:
// the GitHub client's otelhttp transport propagates nothing.
func TestNoTraceHeadersToGitHub(t *testing.T) {
	oteltest.InstallSDK(t)
	github, base := contributors.Start(t, "secret")
	req, client := fromGateway(t, base, "/stats/golang/go")
	if req.Header.Get("Traceparent") == "" || req.Header.Get("Baggage") == "" {
		t.Fatalf("injected %v, want the context and its baggage", req.Header)
	}
	get(t, req, http.StatusOK)
	client.End()

	requests := github.Requests()
	if len(requests) == 0 {
		t.Fatal("GitHub got no request")
	}
	for _, h := range requests {
		if key := tracetest.TraceHeader(h); key != "" {
			t.Errorf("GitHub got the trace header %s: %q", key, h.Get(key))
		}
		for _, key := range []string{"Baggage", "Tracestate"} {
			if h.Get(key) != "" {
				t.Errorf("GitHub got the header %s: %q", key, h.Get(key))
			}
		}
	}
}

// TestClientGivesUp: the gateway gives up while GitHub hangs (the stand-in's
// slow/ owner). That is no failure of ours: the server span says nginx's
// 499, which otelhttp leaves unset (a 4xx is the client's), and
// fetchContributorStats has an event that the client gave up, not the
// status Error. otelhttp's own client span of the abandoned call to GitHub
// is another matter: otelhttp marks every call that ends in an error,
// "context canceled" included.
func TestClientGivesUp(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	_, base := contributors.Start(t, "")
	req, client := fromGateway(t, base, "/stats/slow/repo")
	ctx, cancel := context.WithTimeout(req.Context(), 300*time.Millisecond)
	defer cancel()
	if resp, err := http.DefaultClient.Do(req.WithContext(ctx)); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %s before the client gave up", resp.Status)
	}
	client.End()
	stepsuite.WaitFor(t, "the server span", func() bool {
		for _, s := range exporter.GetSpans() {
			if s.Name == "GET /stats/{owner}/{repo}" {
				return true
			}
		}
		return false
	})
	server, fetch := oteltest.Find(t, exporter, "GET /stats/{owner}/{repo}"), oteltest.Find(t, exporter, "fetchContributorStats")
	if got := oteltest.Attr(server, "http.response.status_code"); got != int64(499) || server.Status.Code == codes.Error {
		t.Errorf("the server span: status code %v, status %s; want 499, unset", got, oteltest.Status(server))
	}
	if fetch.Status.Code == codes.Error || !oteltest.HasEvent(fetch, "the client gave up") {
		t.Errorf("fetchContributorStats: status %s, events %+v; want unset, and an event that the client gave up", oteltest.Status(fetch), fetch.Events)
	}
}
