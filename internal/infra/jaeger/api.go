package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Trace is one trace as Jaeger's query API (/api/traces/{id}) returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span of a Trace. Times are in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []KeyValue  `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
}

// Reference links a span to its parent (refType CHILD_OF or FOLLOWS_FROM).
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a tag or a log field. Value is a string, float64 or bool.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Log is a timestamped set of fields on a span.
type Log struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the service that reported a span.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// ServiceName returns the name of the service that reported span.
func (t Trace) ServiceName(span Span) string {
	return t.Processes[span.ProcessID].ServiceName
}

// The reference types a span names its parent by (OpenTracing's): a child
// its parent waits for, and a span its parent started but does not wait
// for (a job on a queue).
const (
	ChildOf     = "CHILD_OF"
	FollowsFrom = "FOLLOWS_FROM"
)

// ParentID returns the ID of the span's parent, or "" for a root span.
func (s Span) ParentID() string { return s.Parent().SpanID }

// Parent returns the reference to the span's parent, CHILD_OF or
// FOLLOWS_FROM; the zero Reference for a root span.
func (s Span) Parent() Reference {
	for _, ref := range s.References {
		if ref.RefType == ChildOf || ref.RefType == FollowsFrom {
			return ref
		}
	}
	return Reference{}
}

// Tag returns the value of the span's tag key, and whether it has one.
func (s Span) Tag(key string) (any, bool) {
	for _, tag := range s.Tags {
		if tag.Key == key {
			return tag.Value, true
		}
	}
	return nil, false
}

// ErrNotFound is returned while Jaeger does not know the trace (yet).
var ErrNotFound = errors.New("trace not found")

// Client reads traces from Jaeger's query API.
type Client struct {
	QueryURL string // for example http://127.0.0.1:16686
	HTTP     *http.Client
}

type tracesResponse struct {
	Data   []Trace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

// Trace fetches one trace by its ID (hex, as in X-Trace-Id).
func (c *Client) Trace(ctx context.Context, traceID string) (Trace, error) {
	traces, err := c.get(ctx, "/api/traces/"+url.PathEscape(traceID))
	if err != nil {
		return Trace{}, err
	}
	if len(traces) == 0 {
		return Trace{}, ErrNotFound
	}
	return traces[0], nil
}

// Latest returns the most recent trace that has a span of service.
func (c *Client) Latest(ctx context.Context, service string) (Trace, error) {
	query := url.Values{"service": {service}, "limit": {"20"}, "lookback": {"1h"}}
	traces, err := c.get(ctx, "/api/traces?"+query.Encode())
	if err != nil {
		return Trace{}, err
	}
	var latest Trace
	var latestStart int64
	for _, trace := range traces {
		for _, span := range trace.Spans {
			if span.ParentID() == "" && span.StartTime > latestStart {
				latest, latestStart = trace, span.StartTime
			}
		}
	}
	if latestStart == 0 {
		return Trace{}, fmt.Errorf("no trace of service %q: %w", service, ErrNotFound)
	}
	return latest, nil
}

// Find returns the traces that have a span of service named operation
// (any operation if "") that started at since or later: up to 100, newest
// first as Jaeger returns them. A service Jaeger has never heard of has
// no traces.
func (c *Client) Find(ctx context.Context, service, operation string, since time.Time) ([]Trace, error) {
	query := url.Values{
		"service": {service}, "limit": {"100"},
		"start": {strconv.FormatInt(since.UnixMicro(), 10)},
		"end":   {strconv.FormatInt(time.Now().Add(time.Minute).UnixMicro(), 10)},
	}
	if operation != "" {
		query.Set("operation", operation)
	}
	traces, err := c.get(ctx, "/api/traces?"+query.Encode())
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return traces, err
}

// WaitForTrace polls until the trace exists and complete(trace) holds, or
// ctx ends. Spans arrive from each service separately, so a trace can be
// found before it is whole.
func (c *Client) WaitForTrace(ctx context.Context, traceID string, complete func(Trace) bool) (Trace, error) {
	for {
		trace, err := c.Trace(ctx, traceID)
		if err == nil && complete(trace) {
			return trace, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return trace, err
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("trace incomplete")
			}
			return trace, fmt.Errorf("waiting for trace %s: %w (%v)", traceID, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) get(ctx context.Context, path string) ([]Trace, error) {
	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.QueryURL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking Jaeger: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrNotFound
	}
	var body tracesResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("Jaeger answered %s with no JSON: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("Jaeger answered %s: %v", resp.Status, body.Errors)
	}
	return body.Data, nil
}
