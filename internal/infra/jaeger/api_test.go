package jaeger

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestFindAsksForServiceOperationAndSince(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var asked map[string][]string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.Query()
		if r.URL.Query().Get("service") == "nobody" {
			http.Error(w, `{"data":null,"errors":[{"code":404,"msg":"service not found"}]}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"data":[{"traceID":"abc","spans":[{"spanID":"1","operationName":"cleanJob"}]}]}`))
	}))
	defer server.Close()
	client := &Client{QueryURL: server.URL}

	traces, err := client.Find(context.Background(), "cleaner", "cleanJob", since)
	if err != nil || len(traces) != 1 || traces[0].TraceID != "abc" {
		t.Fatalf("Find = %+v, %v; want trace abc", traces, err)
	}
	want := map[string]string{"service": "cleaner", "operation": "cleanJob", "start": strconv.FormatInt(since.UnixMicro(), 10)}
	for key, value := range want {
		if got := asked[key]; len(got) != 1 || got[0] != value {
			t.Errorf("query %s = %v, want %q", key, got, value)
		}
	}
	if traces, err := client.Find(context.Background(), "nobody", "", since); err != nil || traces != nil {
		t.Errorf("Find of an unknown service = %v, %v; want none, no error", traces, err)
	}
	if _, ok := asked["operation"]; ok {
		t.Errorf("Find with no operation asked for operation %q", asked["operation"])
	}
}
