package traceview

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// load reads a trace recorded from Jaeger's /api/traces/{id}.
func load(t *testing.T, name string) jaeger.Trace {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Data []jaeger.Trace }
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	if len(body.Data) != 1 {
		t.Fatalf("%s.json holds %d traces, want 1", name, len(body.Data))
	}
	return body.Data[0]
}

func render(t *testing.T, trace jaeger.Trace, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, trace, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// lines returns the output's lines without colours, and without the header
// and the axis line.
func spanLines(out string) []string {
	lines := strings.Split(strings.TrimSuffix(ansi.ReplaceAllString(out, ""), "\n"), "\n")
	return lines[2:]
}

// lineOf returns the one line that shows operation, failing unless there
// is exactly one.
func lineOf(t *testing.T, lines []string, operation string) string {
	t.Helper()
	var found []string
	for _, l := range lines {
		if strings.Contains(l, " "+operation) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one line with %q, got %d:\n%s", operation, len(found), strings.Join(lines, "\n"))
	}
	return found[0]
}

// column returns the rune column where sub starts in s, or -1.
func column(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:i])
}

// Golden files show what the output looks like, for review and for the
// READMEs; the tests after this one say what must hold whatever it looks
// like. Run `go test ./internal/infra/traceview -update` after a deliberate change
// and read the diff.
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		golden, trace string
		opts          Options
	}{
		{"step7", "step7", Options{Width: 100}},
		{"step7-narrow", "step7", Options{Width: 64}},
		{"step7-color", "step7", Options{Width: 100, Color: true}},
		{"step7-details", "step7", Options{Width: 100, Details: true}},
		{"error", "error", Options{Width: 100, Details: true}},
		{"missing-parent", "missing-parent", Options{Width: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := render(t, load(t, tt.trace), tt.opts)
			path := filepath.Join("testdata", tt.golden+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

func TestStep7Tree(t *testing.T) {
	out := render(t, load(t, "step7"), Options{Width: 100})
	lines := spanLines(out)
	// Depth-first, children in start-time order; each level indents by 3.
	want := []struct {
		service, operation string
		depth              int
	}{
		{"gateway", "GET /git/{owner}/{repo}", 0},
		{"gateway", "call contributors", 1},
		{"contributors", "GET /stats/{owner}/{repo}", 2},
		{"contributors", "fetch from GitHub", 3},
		{"gateway", "push to queue", 1},
		{"cleaner", "clean stats", 2},
		{"gateway", "wait for reply", 1},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d span lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		name := w.service + " " + w.operation
		if col := column(lines[i], name); col != 3*w.depth {
			t.Errorf("line %d: %q at column %d, want %d (depth %d):\n%s", i, name, col, 3*w.depth, w.depth, out)
		}
	}
	header := strings.SplitN(out, "\n", 2)[0]
	for _, s := range []string{"5f3a9c2e8b7d4a61", "20.0ms", "7 spans", "3 services"} {
		if !strings.Contains(header, s) {
			t.Errorf("header %q lacks %q", header, s)
		}
	}
	fetch := lineOf(t, lines, "fetch from GitHub")
	for _, s := range []string{" 1.20ms ", " 7.60ms "} { // start, duration
		if !strings.Contains(fetch, s) {
			t.Errorf("line %q lacks %q", fetch, s)
		}
	}
	if strings.Contains(out, "ERROR") || strings.Contains(out, "missing") {
		t.Errorf("a healthy trace is marked:\n%s", out)
	}
}

// The bar area is found from the root span, which covers the whole trace:
// its first cell is where the area starts, its length is the area's width.
func TestBarsProportional(t *testing.T) {
	for _, width := range []int{64, 80, 100, 101, 160} {
		lines := spanLines(render(t, load(t, "step7"), Options{Width: width}))
		barStart := func(l string) int { return column(l, "█") }
		barEnd := func(l string) int { return barStart(l) + strings.Count(l, "█") }
		// Names are cut at narrow widths; lines are in TestStep7Tree's order.
		root := lines[0]
		area := strings.Count(root, "█")
		if area < 10 {
			t.Fatalf("width %d: bar area is %d cells", width, area)
		}
		cases := []struct {
			line     int
			at       func(string) int
			fraction float64 // of the trace's 20ms
		}{
			{4, barStart, 0.5},      // push to queue starts at 10ms
			{3, barStart, 0.06},     // fetch from GitHub starts at 1.2ms
			{6, barEnd, 0.98},       // wait for reply ends at 19.6ms
			{5, barEnd, 14.5 / 20},  // clean stats ends at 14.5ms
			{1, barEnd, 9.5 / 20},   // call contributors ends at 9.5ms
			{1, barStart, 0.5 / 20}, // and starts at 0.5ms
		}
		for _, c := range cases {
			got := float64(c.at(lines[c.line]) - barStart(root))
			if want := c.fraction * float64(area); got < want-1 || got > want+1 {
				t.Errorf("width %d, %q: bar edge at cell %v of %d, want %.1f", width, lines[c.line], got, area, want)
			}
		}
	}
}

func TestColor(t *testing.T) {
	trace := load(t, "step7")
	plain := render(t, trace, Options{Width: 100})
	if strings.Contains(plain, "\x1b") {
		t.Errorf("escape codes without Color:\n%q", plain)
	}
	colored := render(t, trace, Options{Width: 100, Color: true})
	if got := ansi.ReplaceAllString(colored, ""); got != plain {
		t.Errorf("Color changes more than colours:\n%s\nplain:\n%s", got, plain)
	}
	colors := map[string]string{}
	for _, service := range []string{"gateway", "contributors", "cleaner"} {
		m := regexp.MustCompile("\x1b\\[([0-9;]+)m" + service + "\x1b\\[0m").FindStringSubmatch(colored)
		if m == nil {
			t.Fatalf("service %s is not coloured:\n%q", service, colored)
		}
		colors[service] = m[1]
	}
	if len(colors) != 3 || colors["gateway"] == colors["contributors"] || colors["gateway"] == colors["cleaner"] || colors["contributors"] == colors["cleaner"] {
		t.Errorf("services share colours: %v", colors)
	}
}

func TestErrorMarked(t *testing.T) {
	trace := load(t, "error")
	lines := spanLines(render(t, trace, Options{Width: 100}))
	for _, op := range []string{"GET /git/{owner}/{repo}", "call contributors", "GET /stats/{owner}/{repo}", "fetch from GitHub"} {
		if l := lineOf(t, lines, op); !strings.Contains(l, "ERROR") {
			t.Errorf("error span not marked: %q", l)
		}
	}
	colored := render(t, trace, Options{Width: 100, Color: true})
	if !strings.Contains(colored, "\x1b["+red+"m ERROR\x1b[0m") {
		t.Errorf("ERROR is not red:\n%q", colored)
	}
	if !strings.Contains(colored, "\x1b["+red+"mfetch from GitHub\x1b[0m") {
		t.Errorf("the failed operation is not red:\n%q", colored)
	}
	// Even cut short, the marker stays.
	for _, l := range spanLines(render(t, trace, Options{Width: 50})) {
		if !strings.Contains(l, "ERROR") {
			t.Errorf("width 50: marker cut off: %q", l)
		}
	}
}

func TestMissingParent(t *testing.T) {
	trace := load(t, "missing-parent")
	out := render(t, trace, Options{Width: 140})
	lines := spanLines(out)
	if len(lines) != len(trace.Spans) {
		t.Fatalf("%d span lines for %d spans:\n%s", len(lines), len(trace.Spans), out)
	}
	orphan := lineOf(t, lines, "GET /stats/{owner}/{repo}")
	if !strings.HasPrefix(orphan, "contributors GET /stats/{owner}/{repo} (parent 2c8e4b1f9a7d3e05 missing)") {
		t.Errorf("orphan not at top level with its note: %q", orphan)
	}
	if !strings.HasPrefix(lineOf(t, lines, "GET /git/{owner}/{repo}"), "gateway ") {
		t.Errorf("the root is not at top level too:\n%s", out)
	}
	if col := column(lineOf(t, lines, "fetch from GitHub"), "contributors fetch"); col != 3 {
		t.Errorf("the orphan's child is not under it:\n%s", out)
	}
}

func TestDetails(t *testing.T) {
	trace := load(t, "step7")
	out := render(t, trace, Options{Width: 100, Details: true})
	lines := spanLines(out)
	// under returns the detail lines between operation's line and the next span's.
	under := func(operation string) string {
		for i, l := range lines {
			if strings.Contains(l, " "+operation+" ") {
				var details []string
				for _, d := range lines[i+1:] {
					if strings.Contains(d, "█") {
						break
					}
					details = append(details, d)
				}
				return strings.Join(details, "\n")
			}
		}
		t.Fatalf("no line for %q", operation)
		return ""
	}
	tests := []struct{ operation, detail string }{
		{"call contributors", "│  │    http.url=http://127.0.0.1:8001/stats/golang/go"},
		{"call contributors", "http.status_code=200"},
		{"GET /git/{owner}/{repo}", "│    sampler.param=true"},
		{"fetch from GitHub", "log +100µs event=\"request sent\""},
		{"fetch from GitHub", "log +7.50ms event=answer http.status_code=200 contributors=37"},
		{"clean stats", "message_bus.destination=stats-to-clean"},
		{"wait for reply", "log +4.20ms event=\"reply received\""},
	}
	for _, tt := range tests {
		if got := under(tt.operation); !strings.Contains(got, tt.detail) {
			t.Errorf("under %q, want %q, got:\n%s", tt.operation, tt.detail, got)
		}
	}
	if plain := render(t, trace, Options{Width: 100}); strings.Contains(plain, "http.url") {
		t.Errorf("tags shown without Details:\n%s", plain)
	}
}

// Whatever the trace in testdata (recorded ones included) and the width,
// no line is wider than asked, every span has exactly one line, and Color
// only adds escape codes.
func TestEveryTraceEveryWidth(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no traces in testdata")
	}
	for _, file := range files {
		trace := load(t, strings.TrimSuffix(filepath.Base(file), ".json"))
		for _, width := range []int{1, 20, 40, 64, 80, 100, 200} {
			for _, details := range []bool{false, true} {
				plain := render(t, trace, Options{Width: width, Details: details})
				colored := render(t, trace, Options{Width: width, Details: details, Color: true})
				if ansi.ReplaceAllString(colored, "") != plain {
					t.Errorf("%s, width %d: Color changes the text", file, width)
				}
				if strings.Contains(plain, "\x1b") {
					t.Errorf("%s, width %d: escape codes without Color", file, width)
				}
				for _, l := range strings.Split(strings.TrimSuffix(plain, "\n"), "\n") {
					if n := utf8.RuneCountInString(l); n > width {
						t.Errorf("%s, width %d, details %v: line of %d: %q", file, width, details, n, l)
					}
				}
				if bars := strings.Count(plain, "\n") - 2; !details && bars != len(trace.Spans) {
					t.Errorf("%s: %d lines for %d spans", file, bars, len(trace.Spans))
				}
			}
		}
	}
}
