package traceview

import (
	"slices"
	"testing"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		us   int64
		want string
	}{
		{0, "0µs"},
		{812, "812µs"},
		{999, "999µs"},
		{1000, "1.00ms"},
		{1234, "1.23ms"},
		{45600, "45.6ms"},
		{99949, "99.9ms"},
		{99950, "100ms"},
		{999499, "999ms"},
		{999500, "1.00s"}, // not "1000ms"
		{1234567, "1.23s"},
		{30_000_000, "30.0s"},
		{83_400_000, "1m23s"},
		{-120, "-120µs"}, // clock skew
	}
	for _, tt := range tests {
		if got := formatDuration(tt.us); got != tt.want {
			t.Errorf("formatDuration(%d) = %q, want %q", tt.us, got, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		value any
		want  string
	}{
		{"GET", "GET"},
		{"http://127.0.0.1:8001/stats/golang/go", "http://127.0.0.1:8001/stats/golang/go"},
		{"connection refused by peer", `"connection refused by peer"`},
		{"a=b", `"a=b"`},
		{"", `""`},
		{"line\nbreak", `"line\nbreak"`},
		{200.0, "200"},
		{0.25, "0.25"},
		{true, "true"},
		{nil, `""`},
	}
	for _, tt := range tests {
		if got := formatValue(tt.value); got != tt.want {
			t.Errorf("formatValue(%#v) = %s, want %s", tt.value, got, tt.want)
		}
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"gateway", 7, "gateway"},
		{"gateway", 6, "gatew…"},
		{"µs…", 2, "µ…"},
		{"gateway", 1, "…"},
		{"gateway", 0, ""},
	}
	for _, tt := range tests {
		if got := shorten(tt.s, tt.n); got != tt.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  []string
	}{
		{"short", 20, []string{"short"}},
		{"message=\"no such host here\"", 20, []string{"message=\"no such ", "  host here\""}},
		{"http.url=https://api.github.com/x", 16, []string{"http.url=https:/", "  /api.github.co", "  m/x"}},
		{"too narrow to wrap", 5, []string{"too narrow to wrap"}},
	}
	for _, tt := range tests {
		if got := wrap(tt.text, tt.width); !slices.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}
