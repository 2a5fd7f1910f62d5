package viewer

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/opentracing/opentracing-go"
	jaegerclient "github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/transport"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

const step7 = "github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/"

// startStep7 runs step 7's three programs, as `make run STEP=7` does, with
// a Redis of the test's own and the stand-in GitHub, and returns the
// gateway's URL.
func startStep7(t *testing.T, badThings string) string {
	t.Helper()
	gateway, contributors, cleaner := e2e.Build(t, step7+"gateway"), e2e.Build(t, step7+"contributors"), e2e.Build(t, step7+"cleaner")
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	redis := e2e.Redis(t)
	env := func(more ...string) map[string]string {
		m := map[string]string{
			"HOST":                           "127.0.0.1",
			"JAEGER_ENDPOINT":                e2e.Jaeger(t).CollectorEndpoint,
			"JAEGER_REPORTER_FLUSH_INTERVAL": "100ms",
			"BAD_THINGS":                     badThings,
		}
		for i := 0; i < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	start := func(name, binary string, env map[string]string) string {
		p, port := e2e.StartOnFreePort(t, name, binary, env, "PORT")
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		p.WaitHealthy(t, url+"/healthz")
		return url
	}
	contributorsURL := start("contributors", contributors, env("GITHUB_API_URL", githubURL))
	start("cleaner", cleaner, env("REDIS_ADDR", redis.Addr(), "CLEANER_NAME", "cleaner-1"))
	return start("gateway", gateway, env("CONTRIBUTORS_URL", contributorsURL, "REDIS_ADDR", redis.Addr()))
}

// request asks the gateway for a repository and returns the trace ID of
// its answer, and its trace once Jaeger holds all of it: spans of every
// one of services, every parent there, and no new span for a moment.
func request(t *testing.T, gateway, repo string, wantStatus int, services ...string) (string, jaeger.Trace) {
	t.Helper()
	resp, err := http.Get(gateway + "/git/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET /git/%s: %s, want %d", repo, resp.Status, wantStatus)
	}
	id := resp.Header.Get("X-Trace-Id")
	if id == "" {
		t.Fatalf("GET /git/%s: no X-Trace-Id", repo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := e2e.Jaeger(t).Client().WaitForTrace(ctx, id, whole(services))
	if err != nil {
		t.Fatalf("%v; so far:\n%s", err, traceview.JaegerTree(trace))
	}
	return id, trace
}

// whole says a trace is complete: it has spans of every one of services,
// no span whose parent is missing, and no new span for 300 ms.
func whole(services []string) func(jaeger.Trace) bool {
	spans, since := -1, time.Now()
	return func(trace jaeger.Trace) bool {
		if len(trace.Spans) != spans {
			spans, since = len(trace.Spans), time.Now()
		}
		ids, have := map[string]bool{}, map[string]bool{}
		for _, span := range trace.Spans {
			ids[span.SpanID] = true
			have[trace.ServiceName(span)] = true
		}
		for _, service := range services {
			if !have[service] {
				return false
			}
		}
		for _, span := range trace.Spans {
			if parent := span.ParentID(); parent != "" && !ids[parent] {
				return false
			}
		}
		return time.Since(since) >= 300*time.Millisecond
	}
}

// drawnRow is what the page draws for a span (the data-* attributes of
// its row), and whether the reader sees it.
type drawnRow struct {
	SpanID    string `json:"spanId"`
	Depth     string `json:"depth"`
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Error     string `json:"error"`
	Problem   string `json:"problem"`
	RefType   string `json:"refType"`
	Text      string `json:"text"`     // the row's visible text
	BarColor  string `json:"barColor"` // the bar's computed background colour
	Visible   bool   `json:"visible"`
}

const readRows = `[...document.querySelectorAll("#waterfall .row.span")].map(r => Object.assign({}, r.dataset, {
	text: r.innerText,
	barColor: getComputedStyle(r.querySelector(".bar")).backgroundColor,
	visible: r.getBoundingClientRect().height > 0 && getComputedStyle(r).visibility === "visible",
}))`

// openTrace opens the link a program logs for trace id and returns the
// rows the page drew, and its title.
func openTrace(t *testing.T, tab context.Context, id string) ([]drawnRow, string) {
	t.Helper()
	do(t, tab,
		chromedp.Navigate(e2e.Jaeger(t).QueryURL+"/trace/"+id),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="trace"]`)))
	text := get(t, tab, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
	if m := regexp.MustCompile(`\b(null|undefined|NaN|\[object Object\])`).FindString(text); m != "" {
		t.Errorf("the page shows %q:\n%s", m, text)
	}
	return get(t, tab, chromedp.Evaluate[[]drawnRow](readRows)), get(t, tab, chromedp.Text(chromedp.CSS("#trace-title")))
}

// tree writes rows as "depth service: operation" lines, indented.
func tree(rows []drawnRow) string {
	var b strings.Builder
	for _, r := range rows {
		depth, _ := strconv.Atoi(r.Depth)
		follows := ""
		if strings.Contains(r.Text, "follows from") { // the page's badge
			follows = " (follows from)"
		}
		fmt.Fprintf(&b, "%s%s: %s%s\n", strings.Repeat("  ", depth), r.Service, r.Operation, follows)
	}
	return b.String()
}

// sameReading checks that the page drew the spans where cmd/trace does.
func sameReading(t *testing.T, trace jaeger.Trace, rows []drawnRow) {
	t.Helper()
	want := traceview.Outline(trace)
	var got []traceview.OutlineRow
	for _, r := range rows {
		depth, _ := strconv.Atoi(r.Depth)
		got = append(got, traceview.OutlineRow{SpanID: r.SpanID, Depth: depth, Problem: r.Problem})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the page draws the spans as\n%v\ncmd/trace draws them as\n%v", got, want)
	}
}

const errorRed = "rgb(211, 47, 47)"

// TestStep7TraceInTheBrowser: the link a step-7 program logs opens the
// viewer on that trace, with every span, the three services, nested as in
// Jaeger and as cmd/trace draws it; a click shows a span's tags and logs.
func TestStep7TraceInTheBrowser(t *testing.T) {
	gateway := startStep7(t, "off")
	tab := browser(t)
	id, trace := request(t, gateway, "golang/go", http.StatusOK, "gateway", "contributors", "cleaner")

	rows, title := openTrace(t, tab, id)
	// Jaeger's own tree of the trace, one "service: operation" a line.
	if got, want := tree(rows), traceview.JaegerTree(trace); got != want {
		t.Errorf("the page draws\n%s\nJaeger's trace is\n%s", got, want)
	}
	sameReading(t, trace, rows)
	if want := fmt.Sprintf("%d spans, 3 services", len(trace.Spans)); !strings.HasPrefix(title, "Trace "+id+": ") || !strings.HasSuffix(title, want) {
		t.Errorf("title %q, want Trace %s: …, %s, and no error", title, id, want)
	}
	colors := map[string]string{}
	for i, r := range rows {
		if !r.Visible || !strings.Contains(r.Text, r.Service) || !strings.Contains(r.Text, r.Operation) {
			t.Errorf("row of %s %s: visible %v, text %q", r.Service, r.Operation, r.Visible, r.Text)
		}
		if r.Error != "false" || strings.Contains(r.Text, "ERROR") || r.BarColor == errorRed {
			t.Errorf("row of %s %s is marked as an error: %+v", r.Service, r.Operation, r)
		}
		if c, ok := colors[r.Service]; ok && c != r.BarColor {
			t.Errorf("%s's spans in two colours, %s and %s", r.Service, c, r.BarColor)
		}
		colors[r.Service] = r.BarColor
		// One trace across three services: one root, the gateway's.
		if (r.Depth == "0") != (i == 0) || i == 0 && r.Service != "gateway" {
			t.Errorf("row %d, %s %s, at depth %s: want the gateway's request alone at the top", i, r.Service, r.Operation, r.Depth)
		}
	}
	if len(colors) != 3 || colors["gateway"] == colors["contributors"] || colors["gateway"] == colors["cleaner"] || colors["contributors"] == colors["cleaner"] {
		t.Errorf("services' colours %v, want three different ones", colors)
	}

	// A click on the cleaner's last span shows its tags, logs and process.
	const lastCleaner = `[...document.querySelectorAll('#waterfall .row.span[data-service="cleaner"]')].pop()`
	hidden := get(t, tab, chromedp.Evaluate[bool](lastCleaner+`.nextElementSibling.hidden`))
	do(t, tab, chromedp.Click(chromedp.JSPath(lastCleaner)))
	details := get(t, tab, chromedp.Evaluate[string](lastCleaner+`.nextElementSibling.hidden ? "" : `+lastCleaner+`.nextElementSibling.innerText`))
	if !hidden {
		t.Error("the span's details showed before the click")
	}
	for _, want := range []string{"Tags", "Logs", "Process: cleaner", "host.name"} {
		if !strings.Contains(details, want) {
			t.Errorf("the cleaner's span's details, after a click, lack %q:\n%s", want, details)
		}
	}
	t.Logf("the cleaner's span's details:\n%s", details)
}

// TestErrorSpanMarked: a step-7 request that fails (GitHub answers 500)
// has error spans, drawn red and marked ERROR, and counted in the title.
func TestErrorSpanMarked(t *testing.T) {
	gateway := startStep7(t, "off")
	tab := browser(t)
	id, trace := request(t, gateway, "broken/repo", http.StatusBadGateway, "gateway", "contributors")

	rows, title := openTrace(t, tab, id)
	sameReading(t, trace, rows)
	errors := 0
	for _, r := range rows {
		marked := strings.Contains(r.Text, "ERROR") && r.BarColor == errorRed
		if (r.Error == "true") != marked {
			t.Errorf("row of %s %s: data-error %s, but marked %v (text %q, bar %s)", r.Service, r.Operation, r.Error, marked, r.Text, r.BarColor)
		}
		if r.Error == "true" {
			errors++
		}
	}
	if errors == 0 {
		t.Errorf("no span of the failed request is marked as an error:\n%s", tree(rows))
	}
	if want := fmt.Sprintf(", %d error", errors); !strings.Contains(title, want) {
		t.Errorf("title %q, want it to count the errors (%q)", title, want)
	}
}

// TestMissingTrace: a trace Jaeger does not hold, and an address that is
// no trace ID, each say so plainly.
func TestMissingTrace(t *testing.T) {
	tab := browser(t)
	base := e2e.Jaeger(t).QueryURL
	for _, tt := range []struct{ path, state, want string }{
		{"/trace/0af7651916cd43dd8448eb211c80319c", "not-found", "No trace 0af7651916cd43dd8448eb211c80319c in this Jaeger."},
		{"/trace/not-an-id", "error", "“not-an-id” is not a trace ID."},
	} {
		do(t, tab,
			chromedp.Navigate(base+tt.path),
			chromedp.WaitVisible(chromedp.CSS(`body[data-state]:not([data-state="loading"]) #message`)))
		state := get(t, tab, chromedp.Evaluate[string](`document.body.dataset.state`))
		msg := get(t, tab, chromedp.Text(chromedp.CSS("#message")))
		if state != tt.state {
			t.Errorf("%s: the page's state is %q, want %q", tt.path, state, tt.state)
		}
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s says %q, want %q", tt.path, msg, tt.want)
		}
		if tt.state == "not-found" && !strings.Contains(msg, "in memory") {
			t.Errorf("%s says %q; want it to say that Jaeger keeps traces in memory", tt.path, msg)
		}
	}
}

// TestListAndOddTraces: the list of a service's latest traces links to
// each; a FOLLOWS_FROM child and a span whose parent never arrived are
// drawn, marked, where cmd/trace draws them.
func TestListAndOddTraces(t *testing.T) {
	tab := browser(t)
	inst := e2e.Jaeger(t)
	// Spans posted the way the steps post theirs: jaeger-client-go over HTTP.
	tracer, closer := jaegerclient.NewTracer("viewertest", jaegerclient.NewConstSampler(true),
		jaegerclient.NewRemoteReporter(transport.NewHTTPTransport(inst.CollectorEndpoint)))
	root := tracer.StartSpan("handle")
	root.SetTag("http.url", "/git/a/b")
	root.SetTag("http.status_code", 200)
	child := tracer.StartSpan("work", opentracing.ChildOf(root.Context()))
	later := tracer.StartSpan("cleanUpLater", opentracing.FollowsFrom(root.Context()))
	rootCtx := root.Context().(jaegerclient.SpanContext)
	lost := jaegerclient.NewSpanContext(rootCtx.TraceID(), jaegerclient.SpanID(0xdeadbeef), rootCtx.SpanID(), true, nil)
	orphan := tracer.StartSpan("afterALostSpan", opentracing.ChildOf(lost))
	for _, s := range []opentracing.Span{orphan, child, later, root} {
		time.Sleep(2 * time.Millisecond)
		s.Finish()
	}
	closer.Close() // flushes
	id := rootCtx.TraceID().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := inst.Client().WaitForTrace(ctx, id, func(tr jaeger.Trace) bool { return len(tr.Spans) == 4 })
	if err != nil {
		t.Fatal(err)
	}

	do(t, tab,
		chromedp.Navigate(inst.QueryURL+"/search?service=viewertest"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="search"]`)))
	links := get(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#traces a.trace-link")].map(a => a.getAttribute("href"))`))
	if len(links) != 1 || links[0] != "/trace/"+id {
		t.Errorf("the list links to %v, want [/trace/%s]", links, id)
	}
	if item := get(t, tab, chromedp.Text(chromedp.CSS("#traces li"))); !strings.Contains(item, "viewertest handle /git/a/b → 200") || !strings.Contains(item, "4 spans") {
		t.Errorf("the list's item says %q, want the root span, its request and the span count", item)
	}

	rows, _ := openTrace(t, tab, id)
	sameReading(t, trace, rows)
	byOp := map[string]drawnRow{}
	for _, r := range rows {
		byOp[r.Operation] = r
	}
	if r := byOp["afterALostSpan"]; r.Depth != "0" || r.Problem != "missing" || !strings.Contains(r.Text, "(parent 00000000deadbeef missing)") {
		t.Errorf("the orphan is drawn as %+v, want it at top level, its missing parent named", r)
	}
	if r := byOp["cleanUpLater"]; r.Depth != "1" || r.RefType != "FOLLOWS_FROM" || !strings.Contains(r.Text, "follows from") {
		t.Errorf("the FOLLOWS_FROM child is drawn as %+v, want it under handle, marked", r)
	}
}

// TestScreenshot writes a PNG of a step-7 trace, for the README, when
// VIEWER_SCREENSHOT names the file:
//
//	VIEWER_SCREENSHOT=$PWD/docs/img/step7-trace.png go test ./internal/tests/viewer -run Screenshot
func TestScreenshot(t *testing.T) {
	path := os.Getenv("VIEWER_SCREENSHOT")
	if path == "" {
		t.Skip("set VIEWER_SCREENSHOT to the PNG file to write")
	}
	gateway := startStep7(t, "on")
	tab := browser(t)
	// The README's experiment: torvalds/linux, and rust-lang/rust while it
	// holds the login index.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(gateway + "/git/torvalds/linux"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	id, _ := request(t, gateway, "rust-lang/rust", http.StatusOK, "gateway", "contributors", "cleaner")
	<-done
	openTrace(t, tab, id)
	do(t, tab,
		chromedp.EmulateViewport(1200, 560),
		chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll('#waterfall .row.span[data-service="cleaner"]')].pop()`)))
	png := get(t, tab, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes), trace %s", path, len(png), id)
}

// TestLinkOpenedBeforeTheSpans: a trace link opened before the trace's
// spans reach Jaeger (a program logs it as it answers; its spans follow
// within a second) shows the trace once they arrive.
func TestLinkOpenedBeforeTheSpans(t *testing.T) {
	tab := browser(t)
	inst := e2e.Jaeger(t)
	tracer, closer := jaegerclient.NewTracer("viewertest", jaegerclient.NewConstSampler(true),
		jaegerclient.NewRemoteReporter(transport.NewHTTPTransport(inst.CollectorEndpoint)))
	defer closer.Close()
	span := tracer.StartSpan("late")
	id := span.Context().(jaegerclient.SpanContext).TraceID().String()

	do(t, tab, chromedp.Navigate(inst.QueryURL+"/trace/"+id))
	span.Finish()
	closer.Close() // sends the span now, after the page asked for it
	do(t, tab, chromedp.WaitVisible(chromedp.CSS(`body[data-state]:not([data-state="loading"])`)))
	if state := get(t, tab, chromedp.Evaluate[string](`document.body.dataset.state`)); state != "trace" {
		t.Errorf("the page's state is %q, want the trace", state)
	}
}
