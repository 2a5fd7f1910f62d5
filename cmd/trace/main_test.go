package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

func TestExplain(t *testing.T) {
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`))
	}))
	defer notFound.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more

	const noRun = "the default: no `make run` of step 3 or later is running"
	tests := []struct {
		name, url, source string
		want              []string
		not               string
	}{
		{"unreachable", gone.URL, noRun, []string{"cannot reach Jaeger at " + gone.URL, "(the default", "make run"}, ""},
		{"not found", notFound.URL, noRun, []string{"no trace 5f3a9c2e8b7d4a61 in Jaeger at " + notFound.URL, "(the default", "in memory"}, "try again"},
		// The learner stopped the running step's Jaeger (go run ./cmd/tutorial stop jaeger).
		{"stopped", gone.URL, runningSource + "`make run STEP=7`", []string{"cannot reach Jaeger at " + gone.URL, "go run ./cmd/tutorial restart jaeger"}, "is `make run`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &jaeger.Client{QueryURL: tt.url}
			_, err := client.Trace(context.Background(), "5f3a9c2e8b7d4a61")
			got := explain(err, tt.url, tt.source, "trace 5f3a9c2e8b7d4a61")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("explain = %q, want it to say %q", got, w)
				}
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("explain = %q, want it not to say %q", got, tt.not)
			}
			if strings.Contains(got, "\n") {
				t.Errorf("explain = %q, want one line", got)
			}
		})
	}
}

// TestFetchWaitsForSpans: a trace that Jaeger does not have yet is asked
// for again until it arrives.
func TestFetchWaitsForSpans(t *testing.T) {
	var asked atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) < 3 {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`))
			return
		}
		w.Write([]byte(`{"data":[{"traceID":"5f3a9c2e8b7d4a61","spans":[{"spanID":"a"}]}]}`))
	}))
	defer server.Close()
	trace, err := fetch(context.Background(), &jaeger.Client{QueryURL: server.URL}, "5f3a9c2e8b7d4a61")
	if err != nil || len(trace.Spans) != 1 {
		t.Errorf("fetch = %+v, %v; want the trace once it arrived", trace, err)
	}
}

// TestFindJaeger: -jaeger, then JAEGER_QUERY_URL, then the running `make
// run`'s Jaeger, wherever its port is, then the default.
func TestFindJaeger(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", t.TempDir())
	t.Setenv("JAEGER_QUERY_URL", "")
	find := func(flag string) (string, string) {
		source := findJaeger(&flag)
		return flag, source
	}
	if url, source := find(""); url != defaultJaeger || !strings.Contains(source, "no `make run`") {
		t.Errorf("with nothing running: %s (%s)", url, source)
	}
	remove, err := jaeger.Record(jaeger.Running{PID: os.Getpid(), Step: 3, QueryURL: "http://127.0.0.1:16786", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if url, source := find(""); url != "http://127.0.0.1:16786" || !strings.Contains(source, "make run STEP=3") {
		t.Errorf("with make run's Jaeger on 16786: %s (%s)", url, source)
	}
	t.Setenv("JAEGER_QUERY_URL", "http://127.0.0.1:5")
	if url, source := find(""); url != "http://127.0.0.1:5" || source != "JAEGER_QUERY_URL" {
		t.Errorf("with JAEGER_QUERY_URL: %s (%s)", url, source)
	}
	if url, source := find("http://127.0.0.1:6"); url != "http://127.0.0.1:6" || source != "-jaeger" {
		t.Errorf("with -jaeger: %s (%s)", url, source)
	}
}

// TestTraceIDWithCarriageReturn: an ID pasted from curl -i's output, with
// its \r, is taken; the command gets as far as asking Jaeger.
func TestTraceIDWithCarriageReturn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	var asked atomic.Value
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.Path)
		w.Write([]byte(`{"data":[{"traceID":"5f3a9c2e8b7d4a61","spans":[{"spanID":"a","operationName":"op"}]}]}`))
	}))
	defer server.Close()
	bin := filepath.Join(t.TempDir(), "trace")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-jaeger", server.URL, "5f3a9c2e8b7d4a61\r").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Trace 5f3a9c2e8b7d4a61") {
		t.Errorf("trace 5f3a9c2e8b7d4a61\\r: %v\n%s", err, out)
	}
	if got, _ := asked.Load().(string); got != "/api/traces/5f3a9c2e8b7d4a61" {
		t.Errorf("asked Jaeger for %q", got)
	}
}

func TestIsTraceID(t *testing.T) {
	for id, want := range map[string]bool{
		"5f3a9c2e8b7d4a61":                  true,
		"4BF92F3577B34DA6A3CE929D0E0E4736":  true,
		"":                                  false,
		"5f3a9c2e8b7d4a61:5f3a9c2e8b7d4a61": false,
		"not-hex":                           false,
		"4bf92f3577b34da6a3ce929d0e0e47360": false, // 33 digits
	} {
		if got := isTraceID(id); got != want {
			t.Errorf("isTraceID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestLatestWaitsForSpansInFlight: -service shows the trace of the request
// just answered, whose spans arrive while it waits, not the one before.
func TestLatestWaitsForSpansInFlight(t *testing.T) {
	trace := func(id string, start int64) string {
		return `{"traceID":"` + id + `","spans":[{"traceID":"` + id + `","spanID":"` + id + `","operationName":"GET /git/{owner}/{repo}","startTime":` +
			fmt.Sprint(start) + `,"duration":1,"processID":"p1","references":[]}],"processes":{"p1":{"serviceName":"gateway"}}}`
	}
	var arrived atomic.Bool // the just-answered request's spans
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traces := trace("a", 1000)
		if arrived.Load() {
			traces += "," + trace("b", 2000)
		}
		w.Write([]byte(`{"data":[` + traces + `]}`))
	}))
	defer server.Close()
	old := inFlight
	defer func() { inFlight = old }()
	inFlight = func(context.Context) { arrived.Store(true) }

	got, err := latest(context.Background(), &jaeger.Client{QueryURL: server.URL}, "gateway")
	if err != nil {
		t.Fatal(err)
	}
	if got.TraceID != "b" {
		t.Errorf("latest = trace %q, want b, whose spans arrived while it waited", got.TraceID)
	}
}
