package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/paths"
	"github.com/tracing-tutorial/tutorial/internal/redisping"
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
	loopback       = "127.0.0.1"
	healthyTimeout = 20 * time.Second
	pollInterval   = 25 * time.Millisecond
	traceTimeout   = 10 * time.Second
	// settle is how long a trace must stay the same to be whole: longer
	// than the programs' flush interval, so a span still buffered in one
	// of them is not missed.
	flushInterval = 100 * time.Millisecond
	settle        = 150 * time.Millisecond
)

// runner runs one step and stops it.
type runner struct {
	cfg     config
	console *console
	root    string // the repository's root, where go build runs
	bin     string // where the step's programs are built

	programPorts map[string]int // by topology service name
	jaeger       *jaeger.Instance

	mu       sync.Mutex
	programs []*process
	parts    []func() error // stop Jaeger, Redis, the stand-in GitHub
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
	r := &runner{cfg: cfg, console: c, root: root}
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
	err = r.startParts(ctx)
	if err == nil {
		err = r.startPrograms(ctx)
	}
	if ctx.Err() != nil { // Ctrl-C while starting
		return r.shutDown()
	}
	if err != nil {
		return err
	}
	c.Printf("\nReady in %.1fs:\n%s", time.Since(start).Seconds(), r.urls())

	traceID := r.example(ctx)
	if traceID != "" && step.NeedsJaeger() {
		r.showTrace(ctx, traceID)
	}
	c.Printf("%s", r.hints())

	died := make(chan *process, len(r.programs))
	for _, p := range r.programs {
		go func() { <-p.Exited(); died <- p }()
	}
	select {
	case <-ctx.Done():
		return r.shutDown()
	case p := <-died:
		return fmt.Errorf("%s stopped unexpectedly (%v): its log is above; stopped the rest", p.Name(), p.Err())
	}
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
	if r.cfg.Step.NeedsJaeger() {
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
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
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

// startParts starts, side by side, what the programs need: Jaeger, Redis,
// the stand-in GitHub, and the programs' binaries.
func (r *runner) startParts(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	if r.cfg.Step.NeedsJaeger() {
		wg.Go(func() { errs[0] = r.startJaeger(ctx) })
	}
	if r.cfg.Step.NeedsRedis() {
		wg.Go(func() { errs[1] = r.startRedis(ctx) })
	}
	if r.cfg.GitHubURL == "" {
		wg.Go(func() { errs[2] = r.startGitHub() })
	}
	wg.Go(func() { errs[3] = r.build(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

func (r *runner) addPart(stop func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts = append(r.parts, stop)
}

func (r *runner) startJaeger(ctx context.Context) error {
	// The first run builds Jaeger: minutes, with progress lines. Or it
	// waits for the build that step 1 or 2 started in the background.
	hurryBuild()
	binary, err := jaeger.Binary(ctx, r.console)
	if err != nil && ctx.Err() != nil {
		r.console.Printf("Jaeger's build stopped; the next run carries on from where it got (Go's build cache keeps it).\n")
	}
	if err != nil {
		return err
	}
	inst, err := jaeger.Start(ctx, binary, jaeger.Options{
		QueryPort: r.cfg.JaegerPort, CollectorPort: r.cfg.CollectorPort, AgentPort: r.cfg.AgentPort,
	})
	if err != nil {
		return err
	}
	r.jaeger = inst
	r.addPart(inst.Stop)
	// cmd/trace finds this Jaeger, on whatever port it is.
	remove, err := jaeger.Record(jaeger.Running{PID: os.Getpid(), Step: r.cfg.Step.Number, QueryURL: inst.QueryURL, Started: time.Now()})
	if err == nil {
		r.addPart(func() error { remove(); return nil })
	}
	return nil
}

func (r *runner) startRedis(ctx context.Context) error {
	binary, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tutorial-redis-")
	if err != nil {
		return err
	}
	port := strconv.Itoa(r.cfg.RedisPort)
	// Its log stays quiet unless it fails: it warns about things (memory
	// overcommit) that do not matter to the tutorial.
	p, err := startProcess("redis-server", io.Discard, os.Environ(), binary,
		"--bind", loopback, "--port", port, "--save", "", "--appendonly", "no", "--dir", dir)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	r.addPart(func() error {
		defer os.RemoveAll(dir)
		return p.stop()
	})
	addr := net.JoinHostPort(loopback, port)
	if err := waitFor(ctx, p, func() error { return redisping.Ping(addr) }); err != nil {
		return fmt.Errorf("redis-server on %s: %w\n%s", addr, err, p.lastLines())
	}
	return nil
}

func (r *runner) startGitHub() error {
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, strconv.Itoa(r.cfg.GitHubPort)))
	if err != nil {
		return fmt.Errorf("the stand-in GitHub: %w", err)
	}
	// One 202 ("statistics being computed") per repository first, as the
	// real GitHub does: the steps retry, and their traces show it.
	server := &http.Server{
		Handler:           fakegithub.New(fakegithub.Options{ComputeCalls: 1}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go server.Serve(l)
	// Close, not Shutdown: a request to slow/… must not hold up Ctrl-C.
	r.addPart(server.Close)
	if r.cfg.Step.NeedsJaeger() {
		r.warmUp("http://" + l.Addr().String())
	}
	return nil
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

// startPrograms starts the step's programs and waits until each answers
// its /healthz.
func (r *runner) startPrograms(ctx context.Context) error {
	step := r.cfg.Step
	width := 0
	for _, p := range step.Programs {
		width = max(width, len(label(step, p)))
	}
	for _, p := range step.Programs {
		env, err := r.env(p)
		if err != nil {
			return err
		}
		name := label(step, p)
		prefix := fmt.Sprintf("%-*s | ", width, name)
		started, err := startProcess(name, r.console.prefixed(prefix), env, r.binary(p))
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.programs = append(r.programs, started)
		r.mu.Unlock()
	}
	client := &http.Client{Timeout: time.Second}
	for i, p := range step.Programs {
		program := r.programs[i]
		healthz := fmt.Sprintf("http://%s/healthz", r.address(p.Service))
		err := waitFor(ctx, program, func() error {
			resp, err := client.Get(healthz)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errors.New(resp.Status)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w (its log is above)", program.Name(), err)
		}
	}
	return nil
}

// env is the whole environment of program p: the learner's, then the
// step's wiring with the addresses filled in.
func (r *runner) env(p topology.Program) ([]string, error) {
	env, err := topology.Resolve(p.Env, func(name string) (string, bool) {
		addr := r.address(name)
		return addr, addr != ""
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Service, err)
	}
	env["PORT"] = strconv.Itoa(r.programPorts[p.Service])
	env["HOST"] = loopback // not the meetup's Wi-Fi
	if _, ok := env["JAEGER_ENDPOINT"]; ok {
		env["JAEGER_REPORTER_FLUSH_INTERVAL"] = flushInterval.String() // the first trace shows at once
		env["JAEGER_UI"] = r.jaeger.QueryURL                           // for the trace links they log
	}
	if _, ok := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; ok { // step 9: OpenTelemetry's SDK
		env["OTEL_BSP_SCHEDULE_DELAY"] = strconv.Itoa(int(flushInterval.Milliseconds()))
		env["JAEGER_UI"] = r.jaeger.QueryURL
	}
	if _, ok := env["GITHUB_API_URL"]; ok && r.cfg.GitHubURL != "" {
		env["GITHUB_API_URL"] = r.cfg.GitHubURL // GITHUB_TOKEN comes with os.Environ
	}
	all := os.Environ() // later entries win
	for _, key := range slices.Sorted(maps.Keys(env)) {
		all = append(all, key+"="+env[key])
	}
	return all, nil
}

// address is the host:port of a part or a program of the step, or "".
func (r *runner) address(name string) string {
	hostPort := func(port int) string { return net.JoinHostPort(loopback, strconv.Itoa(port)) }
	switch name {
	case topology.Redis:
		return hostPort(r.cfg.RedisPort)
	case topology.GitHub:
		if r.cfg.GitHubURL != "" {
			return "unused" // env replaces GITHUB_API_URL
		}
		return hostPort(r.cfg.GitHubPort)
	case topology.JaegerCollector, topology.JaegerOTLP:
		if r.jaeger == nil {
			return ""
		}
		endpoint := r.jaeger.CollectorEndpoint
		if name == topology.JaegerOTLP {
			endpoint = r.jaeger.OTLPEndpoint
		}
		u, err := url.Parse(endpoint)
		if err != nil {
			return ""
		}
		return u.Host
	}
	if port, ok := r.programPorts[name]; ok {
		return hostPort(port)
	}
	return ""
}

// waitFor polls ready until it succeeds, p exits, or it takes too long.
func waitFor(ctx context.Context, p *process, ready func() error) error {
	deadline := time.After(healthyTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("exited while starting (%v)", p.Err())
		case <-deadline:
			return fmt.Errorf("not ready after %s: %w", healthyTimeout, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// stop stops the programs, then what they used, each group side by side.
// It is safe to call more than once.
func (r *runner) stop() error {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		programs, parts := r.programs, r.parts
		r.mu.Unlock()
		var stops []func() error
		for _, p := range programs {
			stops = append(stops, p.stop)
		}
		done := make(chan struct{})
		go r.sayWhatStopWaitsFor(programs, done)
		programsErr := stopAll(stops)
		close(done)
		r.stopErr = errors.Join(programsErr, stopAll(parts))
	})
	return r.stopErr
}

// waitNotice is how long stopping may take before the runner says what it
// waits for.
const waitNotice = time.Second

// sayWhatStopWaitsFor says, if the programs are not all gone after
// waitNotice (done not closed), which ones the runner waits for and how to
// stop at once: a program finishes the requests in flight before it exits,
// and a slow one takes seconds.
func (r *runner) sayWhatStopWaitsFor(programs []*process, done <-chan struct{}) {
	select {
	case <-done:
		return
	case <-time.After(waitNotice):
	}
	var names []string
	for _, p := range programs {
		if p.Running() {
			names = append(names, p.Name())
		}
	}
	if len(names) == 0 {
		return
	}
	r.console.Printf("Waiting for %s to finish what it has in flight (a slow request takes seconds; at most %s).\nCtrl-C again stops everything at once.\n",
		strings.Join(names, ", "), stopTimeout)
}

func stopAll(stops []func() error) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Go(func() { errs[i] = stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
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
		line("traces", r.jaeger.QueryURL+"/ (in a browser: the tutorial's trace viewer)")
	}
	if r.cfg.GitHubURL == "" {
		line("stand-in GitHub", "http://"+r.address(topology.GitHub)+"/ (synthetic data; set GITHUB_API_URL=https://api.github.com/ for the real one)")
	} else {
		note := " (from GITHUB_API_URL)"
		if os.Getenv("GITHUB_TOKEN") == "" {
			note = " (from GITHUB_API_URL; without GITHUB_TOKEN it allows 60 requests an hour)"
		}
		line("GitHub", r.cfg.GitHubURL+note)
	}
	if step.NeedsRedis() {
		line("Redis", r.address(topology.Redis))
	}
	return b.String()
}
