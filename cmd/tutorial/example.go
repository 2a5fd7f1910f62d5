//go:build !windows

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
)

// exampleRepo is fast in every step: the stand-in gives it fewer
// contributors than step 2's slow path needs.
const exampleRepo = "golang/go"

// example sends one request to the step's public program, prints the
// answer, and returns its trace ID ("" if none).
func (r *runner) example(ctx context.Context) string {
	var public topology.Program
	for _, p := range r.cfg.Step.Programs {
		if p.Public {
			public = p
			break
		}
	}
	target := "http://" + r.address(public.Service) + "/git/" + exampleRepo
	r.console.Printf("\nAn example request:\n$ curl %s\n", target)

	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		r.console.Printf("%v\n", err)
		return ""
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.console.Printf("The request failed: %v\n", err)
		return ""
	}
	defer resp.Body.Close()
	took := time.Since(start).Round(time.Millisecond)
	var body struct {
		Contributors []struct {
			Login   string `json:"login"`
			Commits int    `json:"commits"`
		} `json:"contributors"`
		Error string `json:"error"`
	}
	decodeErr := json.NewDecoder(resp.Body).Decode(&body)
	switch {
	case resp.StatusCode == http.StatusOK && decodeErr == nil && len(body.Contributors) > 0:
		top := body.Contributors[0]
		r.console.Printf("%s in %s: %d contributors; most commits: %s (%d)\n",
			resp.Status, took, len(body.Contributors), top.Login, top.Commits)
	case body.Error != "":
		r.console.Printf("%s in %s: %s\n", resp.Status, took, body.Error)
	default:
		r.console.Printf("%s in %s\n", resp.Status, took)
	}
	traceID := resp.Header.Get("X-Trace-Id")
	if traceID != "" {
		r.console.Printf("X-Trace-Id: %s\n", traceID)
	}
	return traceID
}

// showTrace waits until the trace is whole in Jaeger and draws it.
func (r *runner) showTrace(ctx context.Context, traceID string) {
	var services []string
	for _, p := range r.cfg.Step.Programs {
		if _, ok := p.Env["JAEGER_ENDPOINT"]; ok {
			services = append(services, tracedAs(r.cfg.Step, p))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, traceTimeout)
	defer cancel()
	trace, err := r.jaeger.Client().WaitForTrace(ctx, traceID, complete(services))
	if ctx.Err() != nil && len(trace.Spans) == 0 {
		if r.cfg.Step.Number >= 12 {
			r.console.Printf("Its trace is not in Jaeger after %s: the collector's tail sampler keeps about one ordinary trace in ten, and every failed or slow one (step 12's README).\n", traceTimeout)
			return
		}
		r.console.Printf("Its trace did not reach Jaeger within %s: %v\n", traceTimeout, err)
		return
	}
	var b bytes.Buffer
	b.WriteString("\n")
	traceview.Render(&b, trace, traceview.Options{Width: r.cfg.Width, Color: r.cfg.Color})
	if err != nil {
		fmt.Fprintf(&b, "(incomplete: %v)\n", err)
	}
	kept := "This Jaeger keeps\ntraces in memory only, so Ctrl-C loses them."
	if r.cfg.Step.JaegerRoles != "" {
		kept = "Jaeger's storage keeps\ntraces on disk, from one run of the step to the next."
	}
	fmt.Fprintf(&b, "\nIn a browser: %s/trace/%s\n(the tutorial's own trace viewer: click a span for its tags and logs. %s Jaeger's full UI comes with docker compose.)\n",
		r.jaeger.QueryURL, traceID, kept)
	r.console.Write(b.Bytes())
}

// complete says a trace is whole: it has spans of every one of services, a
// root, no span whose parent is missing, and no new span for a while.
func complete(services []string) func(jaeger.Trace) bool {
	spans, since := -1, time.Now()
	return func(trace jaeger.Trace) bool {
		if len(trace.Spans) != spans {
			spans, since = len(trace.Spans), time.Now()
		}
		ids := map[string]bool{}
		have := map[string]bool{}
		for _, span := range trace.Spans {
			ids[span.SpanID] = true
			have[trace.ServiceName(span)] = true
		}
		for _, service := range services {
			if !have[service] {
				return false
			}
		}
		root := false
		for _, span := range trace.Spans {
			parent := span.ParentID()
			if parent != "" && !ids[parent] {
				return false
			}
			root = root || parent == ""
		}
		return root && time.Since(since) >= stack.Settle
	}
}
