package traceview

import (
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

func span(id, parent string, start int64, op string) jaeger.Span {
	s := jaeger.Span{SpanID: id, OperationName: op, StartTime: start, Duration: 100, ProcessID: "p1"}
	if parent != "" {
		s.References = []jaeger.Reference{{RefType: "CHILD_OF", SpanID: parent}}
	}
	return s
}

// Broken traces are the ones people need to look at: whatever the
// references say, every span is drawn exactly once.
func TestRowsOddTraces(t *testing.T) {
	tests := []struct {
		name  string
		spans []jaeger.Span
		want  []string // operations in order, with the tree drawing and notes
	}{
		{"empty", nil, nil},
		{"two roots, in start order", []jaeger.Span{
			span("b", "", 20, "second"), span("a", "", 10, "first"), span("c", "a", 30, "child"),
		}, []string{"first", "└─ child", "second"}},
		{"own parent", []jaeger.Span{span("a", "a", 10, "self")}, []string{"self (parent a in a cycle)"}},
		{"cycle", []jaeger.Span{span("a", "b", 10, "A"), span("b", "a", 20, "B")},
			[]string{"A (parent b in a cycle)", "└─ B"}},
		{"shared span ID, Zipkin style", []jaeger.Span{
			span("r", "", 0, "root"), span("x", "r", 10, "client"), span("x", "x", 20, "server"),
		}, []string{"root", "└─ client", "   └─ server"}},
		{"missing parent", []jaeger.Span{span("a", "gone", 10, "orphan")}, []string{"orphan (parent gone missing)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range rows(jaeger.Trace{Spans: tt.spans}) {
				s := r.branch + r.span.OperationName
				if r.parent != "" {
					s += " (parent " + r.parent + " " + r.problem + ")"
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRenderOddTraces(t *testing.T) {
	tests := []struct {
		name      string
		trace     jaeger.Trace
		want, not []string
	}{
		{"empty", jaeger.Trace{TraceID: "abc"}, []string{"Trace abc: 0µs, 0 spans, 0 services"}, nil},
		{"unknown process", jaeger.Trace{Spans: []jaeger.Span{span("a", "", 0, "op")}}, []string{"? op", "1 span, 1 service"}, nil},
		{"zero duration", jaeger.Trace{
			Spans:     []jaeger.Span{{SpanID: "a", OperationName: "instant", ProcessID: "p1"}},
			Processes: map[string]jaeger.Process{"p1": {ServiceName: "gateway"}},
		}, []string{"gateway instant", "0µs  █"}, nil},
		{"error as a string", jaeger.Trace{Spans: []jaeger.Span{{
			SpanID: "a", OperationName: "op", Duration: 1,
			Tags: []jaeger.KeyValue{{Key: "error", Type: "string", Value: "true"}},
		}}}, []string{"op ERROR", "1 error"}, nil},
		{"error=false", jaeger.Trace{Spans: []jaeger.Span{{
			SpanID: "a", OperationName: "op", Duration: 1,
			Tags: []jaeger.KeyValue{{Key: "error", Type: "bool", Value: false}},
		}}}, []string{"? op"}, []string{"ERROR", "error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, tt.trace, Options{Width: 80})
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestOutline(t *testing.T) {
	trace := jaeger.Trace{Spans: []jaeger.Span{
		span("c", "b", 30, "grandchild"), span("a", "", 10, "root"), span("b", "a", 20, "child"),
		span("o", "gone", 5, "orphan"),
	}}
	want := []OutlineRow{{"o", 0, "missing"}, {"a", 0, ""}, {"b", 1, ""}, {"c", 2, ""}}
	got := Outline(trace)
	if len(got) != len(want) {
		t.Fatalf("Outline = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Outline = %v, want %v", got, want)
			break
		}
	}
}
