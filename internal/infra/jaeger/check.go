package jaeger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// CheckRoles holds the roles' configuration in dir (storage.yaml,
// collector.yaml, query.yaml) to step 11's three promises, on Jaeger's
// own processes: a trace written through the collector is read through
// query; it survives a restart of storage; traces written while query is
// down are all there once it is back. It returns the promises broken, in
// a learner's words; err is for what kept the check from running.
func CheckRoles(ctx context.Context, binary, dir string) (problems []string, err error) {
	roles, problems := startChecked(ctx, binary, dir)
	if problems != nil {
		return problems, nil
	}
	defer roles.Stop()
	const within = 15 * time.Second
	client := roles.Client()

	first, err := postSpans(ctx, roles.OTLPEndpoint, 1)
	if err != nil {
		return []string{fmt.Sprintf("the collector refuses spans over OTLP/HTTP: %v", err)}, nil
	}
	if missing := waitForAll(ctx, client, first, within); missing > 0 {
		return []string{"a trace sent to the collector is not read through query: does the collector write to storage's gRPC endpoint (STORAGE_ENDPOINT), and does query read from it?"}, nil
	}

	if err := roles.Storage.Restart(ctx); err != nil {
		return []string{fmt.Sprintf("storage does not restart: %v", err)}, nil
	}
	kept := first // what query must have once it is back
	if missing := waitForAll(ctx, client, first, within); missing > 0 {
		problems = append(problems, "a trace written before storage restarted is gone after: storage must keep traces on disk (badger, not memory, in BADGER_DIR)")
		kept = nil
	}

	roles.Query.Kill()
	during, err := postSpans(ctx, roles.OTLPEndpoint, 10)
	if err != nil {
		return append(problems, fmt.Sprintf("with query down, the collector refuses spans: %v", err)), nil
	}
	time.Sleep(time.Second) // the collector's batch, on its way to storage
	if err := roles.Query.Start(ctx); err != nil {
		return append(problems, fmt.Sprintf("query does not start again: %v", err)), nil
	}
	if missing := waitForAll(ctx, client, append(kept, during...), within); missing > 0 {
		problems = append(problems, fmt.Sprintf("%d of the %d traces written before query died and while it was down are missing once it is back: query must keep nothing, and only read from storage",
			missing, len(kept)+len(during)))
	}
	return problems, nil
}

// startChecked starts the roles from the configs in dir for a check, or
// returns what keeps them from starting, in a learner's words.
func startChecked(ctx context.Context, binary, dir string) (*Roles, []string) {
	var problems []string
	for _, role := range []string{"storage", "collector", "query"} {
		if _, err := os.Stat(filepath.Join(dir, role+".yaml")); err != nil {
			problems = append(problems, fmt.Sprintf("no %s.yaml in %s: each role is a process with a config of its own", role, dir))
		}
	}
	if problems != nil {
		return nil, problems
	}
	roles, err := StartRoles(ctx, binary, RolesOptions{ConfigDir: dir})
	if err != nil {
		return nil, []string{fmt.Sprintf("the roles do not start: %v", err)}
	}
	return roles, nil
}

// waitForAll waits up to within for query to return every trace of ids,
// and returns how many it still lacks.
func waitForAll(ctx context.Context, client *Client, ids []string, within time.Duration) (missing int) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for _, id := range ids {
		if _, err := client.WaitForTrace(ctx, id, func(Trace) bool { return true }); err != nil {
			missing++
		}
	}
	return missing
}

// postSpans sends n traces of one span each, of the service
// "roles-check", to an OTLP/HTTP endpoint, as OTLP's JSON, and returns
// their IDs.
func postSpans(ctx context.Context, endpoint string, n int) ([]string, error) {
	return postTraces(ctx, endpoint, n, time.Millisecond, false)
}

// postTraces sends n traces of one span each, of the service
// "roles-check", lasting took and ended now, with the status Error if
// failed, to an OTLP/HTTP endpoint, as OTLP's JSON, and returns their IDs.
func postTraces(ctx context.Context, endpoint string, n int, took time.Duration, failed bool) ([]string, error) {
	type anyValue struct {
		StringValue string `json:"stringValue"`
	}
	type keyValue struct {
		Key   string   `json:"key"`
		Value anyValue `json:"value"`
	}
	type status struct {
		Code    int    `json:"code"` // 2: Error
		Message string `json:"message"`
	}
	type span struct {
		TraceID string  `json:"traceId"`
		SpanID  string  `json:"spanId"`
		Name    string  `json:"name"`
		Kind    int     `json:"kind"`
		Start   string  `json:"startTimeUnixNano"`
		End     string  `json:"endTimeUnixNano"`
		Status  *status `json:"status,omitempty"`
	}
	var ids []string
	var spans []span
	now := time.Now()
	for i := range n {
		id := make([]byte, 24)
		rand.Read(id)
		traceID, spanID := hex.EncodeToString(id[:16]), hex.EncodeToString(id[16:])
		ids = append(ids, traceID)
		s := span{TraceID: traceID, SpanID: spanID, Name: fmt.Sprintf("check-%d", i), Kind: 1,
			Start: fmt.Sprint(now.Add(-took).UnixNano()), End: fmt.Sprint(now.UnixNano())}
		if failed {
			s.Status = &status{Code: 2, Message: "GitHub answered 500"}
		}
		spans = append(spans, s)
	}
	body, err := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"resource":   map[string]any{"attributes": []keyValue{{"service.name", anyValue{"roles-check"}}}},
		"scopeSpans": []any{map[string]any{"spans": spans}},
	}}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status + ": " + string(answer))
	}
	return ids, nil
}
