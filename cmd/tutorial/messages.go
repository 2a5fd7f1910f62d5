//go:build !windows

package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// What the runner tells the learner about the step: what it starts and
// where everything is.

// startsWhat names what the step starts, for the first line.
func (r *runner) startsWhat() string {
	var parts []string
	switch {
	case r.cfg.Step.JaegerRoles != "":
		parts = append(parts, "Jaeger's storage, collector and query")
	case r.cfg.Step.NeedsJaeger():
		parts = append(parts, "Jaeger")
	}
	if r.cfg.Step.NeedsRedis() {
		parts = append(parts, "Redis")
	}
	if r.cfg.GitHubURL == "" {
		parts = append(parts, "the stand-in GitHub")
	}
	var programs []string
	for _, p := range r.cfg.Step.Programs {
		programs = append(programs, label(r.cfg.Step, p))
	}
	parts = append(parts, strings.Join(programs, ", "))
	return andList(parts)
}

// label is what the runner calls a program: "gateway" in steps 6-7, the
// step's service ("step3") in the one-program steps.
func label(step topology.Step, p topology.Program) string {
	return strings.TrimPrefix(p.Service, step.Profile()+"-")
}

// tracedAs is the service name a traced program reports its spans under:
// the monoliths of steps 3-5 call themselves gateway, as the gateway that
// takes their place in step 6 does.
func tracedAs(step topology.Step, p topology.Program) string {
	if len(step.Programs) == 1 {
		return "gateway"
	}
	return label(step, p)
}

// andList joins names as a sentence does: "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// withoutPassword is rawURL without its user:password@, for printing: a
// password in GITHUB_API_URL is nobody's business (the programs do not
// use it either: GitHub takes GITHUB_TOKEN).
func withoutPassword(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(GITHUB_API_URL is not a URL)"
	}
	u.User = nil
	return u.String()
}

// urls lists where things are, for the learner.
func (r *runner) urls() string {
	var b strings.Builder
	step := r.cfg.Step
	line := func(what, where string) { fmt.Fprintf(&b, "  %-16s %s\n", what, where) }
	for _, p := range step.Programs {
		if p.Public {
			line(label(step, p), "http://"+r.address(p.Service)+"/git/{owner}/{repo}")
		}
	}
	if step.NeedsJaeger() {
		if r.jaegerUI {
			line("traces", r.jaeger.QueryURL+"/ (in a browser: Jaeger's UI)")
		} else {
			line("traces", r.jaeger.QueryURL+"/ (in a browser: the tutorial's trace viewer)")
		}
	}
	if r.cfg.GitHubURL == "" {
		line("stand-in GitHub", "http://"+r.address(topology.GitHub)+"/ (synthetic data; set GITHUB_API_URL=https://api.github.com/ for the real one)")
	} else {
		note := " (from GITHUB_API_URL)"
		switch {
		case os.Getenv("GITHUB_TOKEN") == "":
			note = " (from GITHUB_API_URL; without GITHUB_TOKEN it allows 60 requests an hour)"
		case !stack.SendToken(r.cfg.GitHubURL):
			note = " (from GITHUB_API_URL; not HTTPS, so GITHUB_TOKEN is not sent)"
		}
		line("GitHub", withoutPassword(r.cfg.GitHubURL)+note)
	}
	if step.NeedsRedis() {
		// The port may not be 6379 (a system Redis had it): the command
		// to look inside says which.
		line("Redis", r.address(topology.Redis)+"  (look inside: redis-cli -p "+strconv.Itoa(r.cfg.RedisPort)+")")
	}
	return b.String()
}
