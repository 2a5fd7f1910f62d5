package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
)

func init() {
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
}

func startApp(t *testing.T, token string) (*fakegithub.Server, string) {
	github := fakegithub.New(fakegithub.Options{ComputeCalls: 1, Record: true})
	githubServer := httptest.NewServer(github)
	t.Cleanup(githubServer.Close)
	app := &app{github: newGitHubClient(githubServer.URL+"/", token), githubTimeout: time.Second}
	server := httptest.NewServer(app.routes())
	t.Cleanup(server.Close)
	return github, server.URL
}

// TestRawStats: the contributors service passes GitHub's statistics on as
// they are (after waiting out the 202), deleted accounts included.
func TestRawStats(t *testing.T) {
	github, base := startApp(t, "secret")
	resp, err := http.Get(base + "/stats/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []struct {
		Author *struct{ Login string } `json:"author"`
		Total  int                     `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, decode: %v", resp.StatusCode, err)
	}
	want := fakegithub.Stats("golang", "go")
	if len(stats) != len(want) {
		t.Fatalf("%d contributors, want %d", len(stats), len(want))
	}
	for i := range want {
		if (stats[i].Author == nil) != (want[i].Author == nil) || stats[i].Total != want[i].Total {
			t.Errorf("contributor %d = %+v, want author %v total %d", i, stats[i], want[i].Author, want[i].Total)
		}
	}
	// Two requests: the 202 (statistics being computed), then the 200.
	requests := github.Requests()
	if len(requests) != 2 {
		t.Fatalf("GitHub got %d requests, want 2 (the 202, then the 200)", len(requests))
	}
	for i, h := range requests {
		if h.Get("Authorization") != "Bearer secret" {
			t.Errorf("request %d: Authorization = %q, want the token", i+1, h.Get("Authorization"))
		}
	}
}

func TestGitHubFailuresBecomeStatuses(t *testing.T) {
	_, base := startApp(t, "")
	for path, want := range map[string]int{
		"/stats/bad_owner/x": 400, "/stats/missing/x": 404, "/stats/too-many/x": 429,
		"/stats/computing/x": 502, "/stats/broken/x": 502, "/stats/slow/x": 504, "/nothing": 404,
		"/stats/x/../golang/go": 404, // not a redirect to /stats/golang/go
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want || body.Error == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s = %d %q, want %d with a JSON error", path, resp.StatusCode, body.Error, want)
		}
	}
}

// The tests below install a global tracer: they must not run in parallel.

// get sends req and fails the test unless the answer is 200.
func get(t *testing.T, req *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Read to the end: the request's span finishes before the body does.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d (%v), want 200", req.URL, resp.StatusCode, err)
	}
}

// TestIncomingTraceContext: step 7's lesson on this side. The request's
// span continues the trace whose context came in the request's headers.
func TestIncomingTraceContext(t *testing.T) {
	tracer := tracetest.Install(t)
	_, base := startApp(t, "")

	fetch := tracer.StartSpan("fetchStats") // the gateway's client span
	req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
	if err := tracer.Inject(fetch.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header)); err != nil {
		t.Fatal(err)
	}
	get(t, req)
	fetch.Finish()

	want := "fetchStats\n  GET /stats/{owner}/{repo}\n    fetchContributorStats\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	server := tracetest.Find(t, tracer, "GET /stats/{owner}/{repo}")
	tracetest.WantChildOf(t, server, fetch.Context())
	if kind := server.Tag("span.kind"); kind != ext.SpanKindRPCServerEnum {
		t.Errorf("the request's span.kind = %v, want server", kind)
	}
	if kind := tracetest.Find(t, tracer, "fetchContributorStats").Tag("span.kind"); kind != ext.SpanKindRPCClientEnum {
		t.Errorf("fetchContributorStats' span.kind = %v, want client", kind)
	}
}

// TestMalformedTraceHeader: a broken trace context must not break the
// request; the request starts a trace of its own.
func TestMalformedTraceHeader(t *testing.T) {
	tracer := tracetest.Install(t)
	_, base := startApp(t, "")
	req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
	req.Header.Set("Mockpfx-Ids-Traceid", "not a number")
	req.Header.Set("Mockpfx-Ids-Spanid", "42")
	get(t, req)
	if span := tracetest.Find(t, tracer, "GET /stats/{owner}/{repo}"); span.ParentID != 0 {
		t.Errorf("the request's span has parent %d, want a new trace", span.ParentID)
	}

	// The same with OpenTelemetry's header and tracer.
	_, exporter := oteltest.Install(t)
	req, _ = http.NewRequest("GET", base+"/stats/golang/go", nil)
	req.Header.Set("Traceparent", "00-not-a-trace-01")
	get(t, req)
	if span := oteltest.Find(t, exporter, "GET /stats/{owner}/{repo}"); span.Parent.IsValid() || !span.SpanContext.IsValid() {
		t.Errorf("the request's span has parent %v, want a new root", span.Parent.SpanID())
	}
}

// TestNoTraceHeadersToGitHub: the trace stops at our edge. GitHub gets
// neither the trace context nor its baggage, whichever tracer is used.
func TestNoTraceHeadersToGitHub(t *testing.T) {
	mock := tracetest.Install(t)
	bridge, _ := oteltest.Install(t)

	for name, tracer := range map[string]opentracing.Tracer{"mocktracer": mock, "opentelemetry": bridge} {
		opentracing.SetGlobalTracer(tracer)
		github, base := startApp(t, "secret")
		fetch := tracer.StartSpan("fetchStats")
		fetch.SetBaggageItem("user", "alice")
		req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
		tracer.Inject(fetch.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))
		if len(req.Header) < 2 {
			t.Fatalf("%s: injected %v, want the context and its baggage", name, req.Header)
		}
		get(t, req)
		fetch.Finish()

		requests := github.Requests()
		if len(requests) == 0 {
			t.Fatalf("%s: GitHub got no request", name)
		}
		for _, h := range requests {
			for key := range h {
				for _, prefix := range []string{"Uber-", "Uberctx-", "Mockpfx-", "Traceparent", "Tracestate", "Baggage"} {
					if strings.HasPrefix(key, prefix) {
						t.Errorf("%s: GitHub got the trace header %s: %q", name, key, h.Get(key))
					}
				}
			}
		}
	}
}
