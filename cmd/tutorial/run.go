//go:build !windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/paths"
	"github.com/tracing-tutorial/tutorial/internal/ports"
	"github.com/tracing-tutorial/tutorial/internal/stack"
	"github.com/tracing-tutorial/tutorial/internal/topology"
)

// config is what `tutorial run` was asked to do.
type config struct {
	Step topology.Step
	// Port is the step's first program's; the others keep their distance
	// from it (8000, 8001, 8002). 0 anywhere means a free port.
	Port                                 int
	JaegerPort, CollectorPort, AgentPort int
	RedisPort                            int
	RedisPortSet                         bool // given by the learner: no fallback
	GitHubPort                           int
	GitHubURL                            string // the learner's GITHUB_API_URL: no stand-in
	Color                                bool
	Width                                int
}

const (
	loopback     = ports.Loopback
	traceTimeout = 10 * time.Second
)

// runner runs one step and stops it.
type runner struct {
	cfg     config
	console *console
	root    string // the repository's root, where go build runs
	bin     string // where the step's programs are built

	programPorts map[string]int // by topology service name
	stack        *stack.Stack
	jaeger       *stack.Jaeger
	jaegerUI     bool // Jaeger serves its own UI (a release), not the tutorial's viewer

	mu       sync.Mutex
	managed  []*part        // the programs, Redis and Jaeger: the learner may stop and restart them
	closers  []func() error // stop the stand-in GitHub, remove the records
	ready    chan struct{}  // closed once the step is up: deaths are reported from then on
	stopping chan struct{}  // closed when the step stops: deaths are not reported any more
	shutting atomic.Bool    // stopping is closed
	stopOnce sync.Once
	stopErr  error
}

// run runs cfg.Step until ctx ends (Ctrl-C), then stops everything.
func run(ctx context.Context, c *console, cfg config) (err error) {
	start := time.Now()
	root, err := paths.Root(".")
	if err != nil {
		return err
	}
	r := &runner{cfg: cfg, console: c, root: root, ready: make(chan struct{}), stopping: make(chan struct{})}
	if r.bin, err = binDir(root, cfg.Step); err != nil {
		return err
	}
	if err := r.choosePorts(); err != nil {
		return err
	}
	defer func() { // after an error: stop what did start
		if stopErr := r.stop(); !errors.Is(err, stopErr) {
			err = errors.Join(err, stopErr)
		}
	}()

	step := cfg.Step
	c.Printf("Step %d (%s): starting %s.\n", step.Number, step.Dir, r.startsWhat())
	if !step.NeedsJaeger() {
		c.Printf("%s", prebuildJaeger())
	}
	err = r.start(ctx)
	if ctx.Err() != nil { // Ctrl-C while starting
		return r.shutDown()
	}
	if err != nil {
		return err
	}
	c.Printf("\nReady in %.1fs:\n%s", time.Since(start).Seconds(), r.urls())
	close(r.ready)

	traceID := r.example(ctx)
	if traceID != "" && step.NeedsJaeger() {
		r.showTrace(ctx, traceID)
	}
	// Another terminal may now stop, kill, pause and restart the parts
	// (control.go). A part that dies leaves the rest running.
	if err := r.serveControl(ctx); err != nil {
		c.Printf("(No control of the parts from another terminal: %v)\n", err)
	}
	c.Printf("%s", r.hints())
	<-ctx.Done()
	return r.shutDown()
}

// shutDown stops everything after Ctrl-C, and says so.
func (r *runner) shutDown() error {
	r.console.Printf("\nStopping…\n")
	if err := r.stop(); err != nil {
		return err
	}
	r.console.Printf("Stopped: nothing left running.\n")
	return nil
}

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

// start finds Jaeger, then starts the step through internal/stack, and
// makes each of its parts one the learner can stop and restart.
func (r *runner) start(ctx context.Context) error {
	step := r.cfg.Step
	opts := stack.Options{
		Dir:    filepath.Join(r.root, step.Dir),
		BinDir: r.bin,
		Ports: map[string]int{
			topology.Redis: r.cfg.RedisPort, topology.GitHub: r.cfg.GitHubPort,
		},
		Output:    r.output(),
		Drain:     true, // a Ctrl-C during a slow request still answers it
		GitHubURL: r.cfg.GitHubURL,
		// One 202 ("statistics being computed") per repository first, as
		// the real GitHub does: the steps retry, and their traces show it.
		GitHubOptions: fakegithub.Options{ComputeCalls: 1},
	}
	maps.Copy(opts.Ports, r.programPorts)
	if step.NeedsJaeger() {
		found, err := r.findJaeger(ctx)
		if err != nil {
			return err
		}
		opts.JaegerBinary, opts.JaegerOptions = found.Binary, r.jaegerOptions(found)
		cache, err := paths.CacheDir()
		if err != nil {
			return err
		}
		// Step 11's storage keeps its traces in the cache, from one run
		// of the step to the next.
		opts.BadgerDir = filepath.Join(cache, "traces-"+step.Profile())
	}
	s, err := stack.Start(ctx, step, opts)
	if err != nil {
		return err
	}
	r.stack, r.jaeger = s, s.Jaeger
	r.addCloser(s.Stop) // after the parts: the stand-in, and what is left
	for i, p := range step.Programs {
		process := s.Programs[stack.Name(step, p)]
		r.addPart(&part{h: process, name: process.Name(), where: s.Addrs[p.Service], program: true,
			rank: i - len(step.Programs), timeout: process.StopTimeout()})
	}
	if s.Redis != nil {
		r.addPart(&part{h: s.Redis, name: "redis", where: s.Redis.Addr(), rank: 1,
			lost: "Redis keeps its data in memory only: the jobs it held and the answers not yet read are gone."})
	}
	if s.AllInOne != nil {
		r.addPart(&part{h: s.AllInOne, name: "jaeger", where: s.Jaeger.QueryURL, rank: 2,
			lost: "Jaeger keeps traces in memory only: the ones it had are gone. While it is away, the programs' spans are lost; their requests are not."})
	}
	for i, role := range s.Roles {
		r.addPart(&part{h: role, name: role.Name, where: role.Where, rank: 2 + i, lost: rolesLost[role.Name]})
	}
	if s.Jaeger != nil {
		// cmd/trace finds this Jaeger, on whatever port it is.
		remove, err := jaeger.Record(jaeger.Running{PID: os.Getpid(), Step: step.Number, QueryURL: s.Jaeger.QueryURL, Started: time.Now()})
		if err == nil {
			r.addCloser(func() error { remove(); return nil })
		}
	}
	if s.GitHub != nil && step.NeedsJaeger() {
		r.warmUp(strings.TrimSuffix(s.GitHubURL, "/"))
	}
	return nil
}

// output gives each program's log lines their prefix on the console:
// "gateway      | ".
func (r *runner) output() func(name string) io.Writer {
	width := 0
	for _, p := range r.cfg.Step.Programs {
		width = max(width, len(label(r.cfg.Step, p)))
	}
	return func(name string) io.Writer { return r.console.prefixed(fmt.Sprintf("%-*s | ", width, name)) }
}

// addCloser adds what stops or removes something when the step stops.
func (r *runner) addCloser(stop func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closers = append(r.closers, stop)
}

// findJaeger finds the Jaeger to run. The first run builds Jaeger:
// minutes, with progress lines. Or it waits for the build that step 1 or
// 2 started in the background. A Jaeger of the learner's own comes first:
// JAEGER_BINARY, a jaeger v2 on PATH, JAEGER=docker (jaeger.Find).
func (r *runner) findJaeger(ctx context.Context) (jaeger.Found, error) {
	hurryBuild()
	found, err := jaeger.Find(ctx, r.console)
	if err != nil && ctx.Err() != nil {
		r.console.Printf("Jaeger's build stopped; the next run carries on from where it got (Go's build cache keeps it).\n")
	}
	if err != nil {
		return found, err
	}
	if found.Skipped != "" {
		r.console.Printf("Note: %s.\n", found.Skipped)
	}
	r.console.Printf("Jaeger: %s.\n", found.Describe())
	r.jaegerUI = found.OwnUI
	if r.cfg.Step.JaegerRoles != "" && found.Docker {
		return found, fmt.Errorf("step %d runs Jaeger's roles as processes of a jaeger binary, not in Docker: unset JAEGER, or set JAEGER_BINARY", r.cfg.Step.Number)
	}
	return found, nil
}

// jaegerOptions are the all-in-one's ports (query's for the roles too)
// and environment.
func (r *runner) jaegerOptions(found jaeger.Found) jaeger.Options {
	env := stack.BaseEnv()
	if found.Docker { // the docker command finds its engine through these
		for _, key := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"} {
			if value, ok := os.LookupEnv(key); ok {
				env = append(env, key+"="+value)
			}
		}
	}
	return jaeger.Options{
		QueryPort: r.cfg.JaegerPort, CollectorPort: r.cfg.CollectorPort, AgentPort: r.cfg.AgentPort,
		Env: env, OwnUI: found.OwnUI, Docker: found.Docker,
	}
}

// rolesLost is what each of Jaeger's roles loses when it dies (step 11's
// README has the figures).
var rolesLost = map[string]string{
	"storage":   "Storage keeps the traces on disk: they are all there when it is back. While it is away, the collector holds the spans and retries, for up to 5 minutes.",
	"collector": "While the collector is away, each program's SDK loses its spans: every one when nothing listens (killed), after its queue of 10,000 fills when the collector hangs (paused).",
	"query":     "Query keeps nothing: spans are written on without it, and every trace is there when it is back.",
}

// readmeRepos are the repositories that the READMEs of steps 3 and on ask
// for, besides exampleRepo, which the runner itself asks for.
var readmeRepos = []string{"torvalds/linux", "rust-lang/rust"}

// warmUp has the stand-in GitHub compute the statistics of readmeRepos, so
// that their traces show what the READMEs show, and not the one 202 (with
// its 250 ms retry) that the stand-in answers first. The example request's
// trace shows that retry.
func (r *runner) warmUp(github string) {
	client := &http.Client{Timeout: 5 * time.Second}
	for _, repo := range readmeRepos {
		if resp, err := client.Get(github + "/repos/" + repo + "/stats/contributors"); err == nil {
			resp.Body.Close()
		}
	}
}

// address is the host:port of a part or a program of the step, or "".
func (r *runner) address(name string) string {
	switch name {
	case topology.Redis:
		return ports.Addr(r.cfg.RedisPort)
	case topology.GitHub:
		return ports.Addr(r.cfg.GitHubPort)
	}
	if port, ok := r.programPorts[name]; ok {
		return ports.Addr(port)
	}
	return ""
}

// stop stops the programs, then what they used, each group side by side.
// It is safe to call more than once.
func (r *runner) stop() error {
	r.stopOnce.Do(func() {
		r.shutting.Store(true)
		close(r.stopping)
		r.mu.Lock()
		closers := r.closers
		r.mu.Unlock()
		var programs []*part
		var programStops, others []func() error
		for _, p := range r.parts() {
			if p.program {
				programs = append(programs, p)
				programStops = append(programStops, p.shutdown)
			} else {
				others = append(others, p.shutdown)
			}
		}
		done := make(chan struct{})
		go r.sayWhatStopWaitsFor(programs, done)
		programsErr := stack.All(programStops)
		close(done)
		r.stopErr = errors.Join(programsErr, stack.All(append(others, closers...)))
	})
	return r.stopErr
}

// waitNotice is how long stopping may take before the runner says what it
// waits for.
const waitNotice = time.Second

// sayWhatStopWaitsFor says, if the programs are not all gone after
// waitNotice (done not closed), which ones the runner waits for and how to
// stop at once: a program finishes the requests in flight before it exits,
// and a slow one takes seconds. It does not say that they have work in
// flight: the runner cannot see that, and an idle cleaner takes seconds
// too (its read for new jobs blocks for up to 2 s).
func (r *runner) sayWhatStopWaitsFor(programs []*part, done <-chan struct{}) {
	select {
	case <-done:
		return
	case <-time.After(waitNotice):
	}
	var names []string
	var longest time.Duration
	for _, p := range programs {
		if p.h.Running() {
			names = append(names, p.name)
			longest = max(longest, p.timeout)
		}
	}
	if len(names) == 0 {
		return
	}
	r.console.Printf("Waiting for %s to stop: a program finishes the requests it has in flight first (a slow one takes seconds; at most %s).\nCtrl-C again stops everything at once.\n",
		andList(names), longest)
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
