//go:build !windows

package main

import (
	"fmt"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// What to try once the step runs: the README's experiments, as commands
// to copy, and how to break the step on purpose.

// hints says what to try next.
func (r *runner) hints() string {
	step := r.cfg.Step
	var gateway string
	for _, p := range step.Programs {
		if p.Public {
			gateway = "http://" + r.address(p.Service)
		}
	}
	var tries [][2]string // command, why
	try := func(command, why string) { tries = append(tries, [2]string{command, why}) }
	if step.NeedsJaeger() {
		try("curl -i "+gateway+"/git/"+exampleRepo, "the same again, with its X-Trace-Id")
		try(r.jaeger.QueryURL+"/trace/<X-Trace-Id>", "a trace, in your browser ("+r.jaeger.QueryURL+"/ lists the latest)")
		try("go run ./cmd/trace <X-Trace-Id>", "the same in the terminal (-details: tags and logs)")
		try("go run ./cmd/trace -service gateway", "the latest trace")
	} else {
		try("curl "+gateway+"/git/"+exampleRepo, "the same again")
	}
	width := 0
	for _, t := range tries {
		width = max(width, len(t[0]))
	}
	var b strings.Builder
	b.WriteString("\nTry:\n")
	for _, t := range tries {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, t[0], t[1])
	}
	if pair := slowPair(step, gateway); pair != "" {
		b.WriteString(pair)
	}
	b.WriteString(r.propagation())
	b.WriteString(baggage(step, gateway))
	if step.NeedsJaeger() {
		b.WriteString(sampling(step, gateway, r.jaeger.QueryURL))
	}
	b.WriteString(r.breakIt())
	b.WriteString(jaegerStatus(step))
	if step.Number < len(topology.Steps()) {
		fmt.Fprintf(&b, "Next step (after Ctrl-C): make run STEP=%d\n", step.Number+1)
	}
	b.WriteString("Ctrl-C stops everything.\n")
	return b.String()
}

// slowPair is the experiment of steps 2 on, as one command to copy: a
// slow request, and half a second later a quick one, which is slow too.
// It prints both answers' times (step 2) or trace IDs (steps 3 on).
func slowPair(step topology.Step, gateway string) string {
	if step.Number < 2 {
		return ""
	}
	repos := "torvalds/linux " + pairRepo(step)
	if !step.NeedsJaeger() {
		return "A slow request, and a quick one while it runs (why is the quick one slow too?):\n" +
			"  (for repo in " + repos + `; do curl -s -o /dev/null -w "$repo %{http_code} in %{time_total}s\n" ` + gateway + "/git/$repo & sleep 0.5; done; wait)\n"
	}
	return "A slow request, and a quick one while it runs; their trace IDs:\n" +
		"  (for repo in " + repos + "; do curl -si " + gateway + `/git/$repo | tr -d '\r' | sed -n "s|^X-Trace-Id:|$repo|p" & sleep 0.5; done; wait)` + "\n"
}

// ownTraceID is the trace ID of the propagation experiment: any 32 hex
// digits do.
const ownTraceID = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"

// propagation is the experiment of step 7: send a service your own trace
// context, as the gateway does, and find its spans in your trace.
func (r *runner) propagation() string {
	if r.cfg.Step.Number != 7 {
		return ""
	}
	for _, p := range r.cfg.Step.Programs {
		if label(r.cfg.Step, p) == "contributors" {
			return "Your own trace context, sent as the gateway sends it; the contributors' spans join your trace:\n" +
				"  curl -s -o /dev/null -H 'uber-trace-id: " + ownTraceID + ":" + ownTraceID[:16] + ":0:1' http://" + r.address(p.Service) + "/stats/golang/go\n" +
				"  go run ./cmd/trace " + ownTraceID + "\n" +
				"  or " + r.jaeger.QueryURL + "/trace/" + ownTraceID + " (its parent, your made-up span, is missing)\n"
		}
	}
	return ""
}

// baggage is the experiment of steps 8 on: say who asks, and find it on
// the cleaner's span, two hops away, and in its log.
func baggage(step topology.Step, gateway string) string {
	if step.Number < 8 {
		return ""
	}
	return "Who asks travels as baggage to the cleaner (its log says requested_by=alice, and so does its span):\n" +
		"  curl -si -H 'X-Requested-By: alice' " + gateway + "/git/golang/go | grep -i x-trace-id\n"
}

// pairRepo is the quick request of the slow pair, as the step's README
// shows it.
func pairRepo(step topology.Step) string {
	if step.Number >= 6 {
		return "rust-lang/rust"
	}
	return "golang/go"
}

// breakIt says how to break the step on purpose, from another terminal.
func (r *runner) breakIt() string {
	example := label(r.cfg.Step, r.cfg.Step.Programs[len(r.cfg.Step.Programs)-1])
	watch := "the requests"
	if r.cfg.Step.NeedsJaeger() {
		watch += " and their traces"
	}
	return "Break it yourself, from another terminal, and watch " + watch + ":\n" +
		"  go run ./cmd/tutorial kill " + example + "     or stop, pause, resume, restart; the parts: " + strings.Join(r.partNames(), ", ") + "\n" +
		"  go run ./cmd/tutorial restart " + example + "  same port, same environment\n"
}

// sampling is the experiment of step 12: ordinary requests and failed
// ones, and which of them the collector's tail sampler kept (query's API
// answers 200 for a trace it has, 404 for one it has not); then head
// sampling, changed while everything runs.
func sampling(step topology.Step, gateway, queryURL string) string {
	if step.Number < 12 {
		return ""
	}
	var repos []string
	for i := range 10 {
		repos = append(repos, fmt.Sprintf("golang/go%d", i+1))
	}
	repos = append(repos, "broken/x1", "broken/x2", "broken/x3")
	return "Sampling: 10 requests and 3 failed ones; the tail sampler keeps (200) every failed and every slow one (over 1 s: the gateway logs each one's duration), drops (404) most of the rest:\n" +
		"  ids=$(for repo in " + strings.Join(repos, " ") + "; do curl -si " + gateway + `/git/$repo | tr -d '\r' | sed -n "s|^X-Trace-Id: |$repo |p"; done); sleep 7; ` +
		`echo "$ids" | while read repo id; do echo "$repo $(curl -s -o /dev/null -w '%{http_code}' ` + queryURL + `/api/traces/$id)"; done` + "\n" +
		"Head sampling: set the gateway's param to 0.1 in " + step.JaegerRoles + "/strategies.json; within 5 s nine requests in ten get no X-Trace-Id.\n" +
		"Head against tail, measured: go test ./internal/infra/jaeger -run TestSamplingExperiment -v\n"
}
