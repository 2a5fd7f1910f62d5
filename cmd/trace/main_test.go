package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/jaeger"
)

func TestExplain(t *testing.T) {
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`))
	}))
	defer notFound.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more

	tests := []struct {
		name, url string
		want      []string
	}{
		{"unreachable", gone.URL, []string{"cannot reach Jaeger at " + gone.URL, "make run"}},
		{"not found", notFound.URL, []string{"no trace 5f3a9c2e8b7d4a61 in Jaeger at " + notFound.URL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &jaeger.Client{QueryURL: tt.url}
			_, err := client.Trace(context.Background(), "5f3a9c2e8b7d4a61")
			got := explain(err, tt.url, "trace 5f3a9c2e8b7d4a61")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("explain = %q, want it to say %q", got, w)
				}
			}
			if strings.Contains(got, "\n") {
				t.Errorf("explain = %q, want one line", got)
			}
		})
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
