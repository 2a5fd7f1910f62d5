//go:build !windows

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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	jaeger       *jaegerAt
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

// addCloser adds what stops or removes something when the step stops.
func (r *runner) addCloser(stop func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closers = append(r.closers, stop)
}

// jaegerAt is where the step's Jaeger is, one all-in-one or its roles.
type jaegerAt struct {
	QueryURL          string // the UI and the query API
	CollectorEndpoint string // jaeger.thrift over HTTP (the all-in-one only)
	OTLPEndpoint      string // OTLP over HTTP
	SamplingURL       string // the collector's sampling strategies (step 12 on)
}

// Client returns a client of the query API.
func (j *jaegerAt) Client() *jaeger.Client { return &jaeger.Client{QueryURL: j.QueryURL} }

func (r *runner) startJaeger(ctx context.Context) error {
	// The first run builds Jaeger: minutes, with progress lines. Or it
	// waits for the build that step 1 or 2 started in the background.
	// A Jaeger of the learner's own comes first: JAEGER_BINARY, a jaeger
	// v2 on PATH, JAEGER=docker (jaeger.Find).
	hurryBuild()
	found, err := jaeger.Find(ctx, r.console)
	if err != nil && ctx.Err() != nil {
		r.console.Printf("Jaeger's build stopped; the next run carries on from where it got (Go's build cache keeps it).\n")
	}
	if err != nil {
		return err
	}
	if found.Skipped != "" {
		r.console.Printf("Note: %s.\n", found.Skipped)
	}
	r.console.Printf("Jaeger: %s.\n", found.Describe())
	r.jaegerUI = found.OwnUI
	if r.cfg.Step.JaegerRoles != "" {
		if found.Docker {
			return fmt.Errorf("step %d runs Jaeger's roles as processes of a jaeger binary, not in Docker: unset JAEGER, or set JAEGER_BINARY", r.cfg.Step.Number)
		}
		err = r.startJaegerRoles(ctx, found.Binary)
	} else {
		err = r.startAllInOne(ctx, found)
	}
	if err != nil {
		return err
	}
	// cmd/trace finds this Jaeger, on whatever port it is.
	remove, err := jaeger.Record(jaeger.Running{PID: os.Getpid(), Step: r.cfg.Step.Number, QueryURL: r.jaeger.QueryURL, Started: time.Now()})
	if err == nil {
		r.addCloser(func() error { remove(); return nil })
	}
	return nil
}

// startAllInOne starts one Jaeger, memory storage, as the learner's part
// "jaeger": the one found (jaeger.Find), a binary or a Docker container.
func (r *runner) startAllInOne(ctx context.Context, found jaeger.Found) error {
	binary, env := found.Binary, baseEnv()
	if found.Docker { // the docker command finds its engine through these
		for _, key := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"} {
			if value, ok := os.LookupEnv(key); ok {
				env = append(env, key+"="+value)
			}
		}
	}
	inst, err := jaeger.Start(ctx, binary, jaeger.Options{
		QueryPort: r.cfg.JaegerPort, CollectorPort: r.cfg.CollectorPort, AgentPort: r.cfg.AgentPort,
		Env: env, OwnUI: found.OwnUI, Docker: found.Docker,
	})
	if err != nil {
		return err
	}
	r.jaeger = &jaegerAt{QueryURL: inst.QueryURL, CollectorEndpoint: inst.CollectorEndpoint, OTLPEndpoint: inst.OTLPEndpoint}
	// A restart takes the same ports, where the programs send their spans
	// and the learner's browser looks.
	again := jaeger.Options{
		QueryPort: portOf(inst.QueryURL), CollectorPort: portOf(inst.CollectorEndpoint), AgentPort: portOf("udp://" + inst.AgentHostPort),
		Env: env, OwnUI: found.OwnUI, Docker: found.Docker,
	}
	running := func(inst *jaeger.Instance) *instance {
		return &instance{proc: inst.Process(), stop: inst.Stop, where: inst.QueryURL}
	}
	r.addManaged(&part{
		name: "jaeger", rank: 2,
		lost: "Jaeger keeps traces in memory only: the ones it had are gone. While it is away, the programs' spans are lost; their requests are not.",
		start: func(ctx context.Context) (*instance, error) {
			inst, err := jaeger.Start(ctx, binary, again)
			if err != nil {
				return nil, err
			}
			return running(inst), nil
		},
	}, running(inst))
	return nil
}

// rolesLost is what each of Jaeger's roles loses when it dies (step 11's
// README has the figures).
var rolesLost = map[string]string{
	"storage":   "Storage keeps the traces on disk: they are all there when it is back. While it is away, the collector holds the spans and retries, for up to 5 minutes.",
	"collector": "While the collector is away, each program's SDK loses its spans: every one when nothing listens (killed), after its queue of 10,000 fills when the collector hangs (paused).",
	"query":     "Query keeps nothing: spans are written on without it, and every trace is there when it is back.",
}

// startJaegerRoles starts Jaeger as its roles from the step's configs,
// each a part of its own: "storage", "collector", "query". Storage keeps
// its traces in the cache, from one run of the step to the next.
func (r *runner) startJaegerRoles(ctx context.Context, binary string) error {
	cache, err := paths.CacheDir()
	if err != nil {
		return err
	}
	roles, err := jaeger.StartRoles(ctx, binary, jaeger.RolesOptions{
		ConfigDir: filepath.Join(r.root, r.cfg.Step.JaegerRoles),
		BadgerDir: filepath.Join(cache, "traces-"+r.cfg.Step.Profile()),
		QueryPort: r.cfg.JaegerPort,
		Env:       baseEnv(),
	})
	if err != nil {
		return err
	}
	r.jaeger = &jaegerAt{QueryURL: roles.QueryURL, OTLPEndpoint: roles.OTLPEndpoint, SamplingURL: roles.SamplingURL}
	where := map[string]string{"storage": roles.StorageAddr, "collector": roles.OTLPEndpoint, "query": roles.QueryURL}
	for i, role := range []*jaeger.Role{roles.Storage, roles.Collector, roles.Query} {
		running := func() *instance {
			return &instance{proc: role.Process(), stop: role.Stop, where: where[role.Name]}
		}
		r.addManaged(&part{
			name: role.Name, rank: 2 + i, lost: rolesLost[role.Name],
			start: func(ctx context.Context) (*instance, error) {
				if err := role.Start(ctx); err != nil {
					return nil, err
				}
				return running(), nil
			},
		}, running())
	}
	// The roles stop as parts; this removes their files (not the traces).
	r.addCloser(roles.Stop)
	return nil
}

// portOf is the port of a URL ("http://127.0.0.1:16686/api"), or 0.
func portOf(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(u.Port())
	return port
}

func (r *runner) startRedis(ctx context.Context) error {
	binary, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	port := strconv.Itoa(r.cfg.RedisPort)
	addr := net.JoinHostPort(loopback, port)
	start := func(ctx context.Context) (*instance, error) {
		dir, err := os.MkdirTemp("", "tutorial-redis-")
		if err != nil {
			return nil, err
		}
		// Its log stays quiet unless it fails: it warns about things
		// (memory overcommit) that do not matter to the tutorial.
		p, err := startProcess("redis-server", io.Discard, baseEnv(), binary,
			"--bind", loopback, "--port", port, "--save", "", "--appendonly", "no", "--dir", dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		in := &instance{proc: p.Process, where: addr, stop: func() error {
			defer os.RemoveAll(dir)
			return p.stop()
		}}
		if err := waitFor(ctx, p, func() error { return redisping.Ping(addr) }); err != nil {
			p.Kill()
			in.stop()
			return nil, fmt.Errorf("redis-server on %s: %w\n%s", addr, err, p.lastLines())
		}
		return in, nil
	}
	in, err := start(ctx)
	if err != nil {
		return err
	}
	r.addManaged(&part{
		name: "redis", rank: 1, start: start,
		lost: "Redis keeps its data in memory only: the jobs it held and the answers not yet read are gone.",
	}, in)
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
	r.addCloser(server.Close)
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
	type started struct {
		program topology.Program
		part    *part
		process *process
	}
	var all []started
	for i, p := range step.Programs {
		env, err := r.env(p)
		if err != nil {
			return err
		}
		name := label(step, p)
		out := r.console.prefixed(fmt.Sprintf("%-*s | ", width, name))
		timeout := p.Drain(env) + topology.ExitGrace // a Ctrl-C during a slow request still answers it
		launch := func() (*process, error) {
			started, err := startProcess(name, out, envList(env), r.binary(p))
			if err == nil {
				started.timeout = timeout
			}
			return started, err
		}
		where := r.address(p.Service)
		pt := &part{name: name, program: true, rank: i - len(step.Programs),
			start: func(ctx context.Context) (*instance, error) {
				started, err := launch()
				if err != nil {
					return nil, err
				}
				in := programInstance(started, where)
				if err := r.waitHealthy(ctx, p, started); err != nil {
					started.Kill()
					return nil, err
				}
				return in, nil
			}}
		first, err := launch()
		if err != nil {
			return err
		}
		r.addManaged(pt, programInstance(first, where))
		all = append(all, started{p, pt, first})
	}
	for _, s := range all {
		if err := r.waitHealthy(ctx, s.program, s.process); err != nil {
			return err
		}
	}
	return nil
}

func programInstance(p *process, where string) *instance {
	return &instance{proc: p.Process, stop: p.stop, where: where, timeout: p.timeout}
}

// waitHealthy waits until program p, started as process, answers its
// /healthz.
func (r *runner) waitHealthy(ctx context.Context, p topology.Program, process *process) error {
	client := &http.Client{Timeout: time.Second}
	healthz := fmt.Sprintf("http://%s/healthz", r.address(p.Service))
	err := waitFor(ctx, process, func() error {
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
		return fmt.Errorf("%s: %w (its log is above)", process.Name(), err)
	}
	return nil
}

// env is the whole environment of program p: what any program needs of the
// learner's (baseEnv), the learner's settings of the tutorial's programs
// (REPLY_TIMEOUT, CLEANER_NAME, BAD_THINGS, which step 2's README and the
// README's table offer as `BAD_THINGS=off make run`; JAEGER_* to a program that reports to
// Jaeger with jaeger-client-go, OTEL_* to one that uses OpenTelemetry's
// SDK), then the step's wiring with the addresses filled in; GITHUB_TOKEN
// only to the program that calls GitHub, and only over HTTPS (sendToken).
// Nothing else of the learner's: no other secret of their shell reaches a
// program.
func (r *runner) env(p topology.Program) (map[string]string, error) {
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
	if _, ok := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; ok { // steps 9 on: OpenTelemetry's SDK
		env["OTEL_BSP_SCHEDULE_DELAY"] = strconv.Itoa(int(flushInterval.Milliseconds()))
		env["JAEGER_UI"] = r.jaeger.QueryURL
	}
	if _, ok := env["GITHUB_API_URL"]; ok {
		if r.cfg.GitHubURL != "" {
			env["GITHUB_API_URL"] = r.cfg.GitHubURL
		}
		if token := os.Getenv("GITHUB_TOKEN"); token != "" && r.sendToken() {
			env["GITHUB_TOKEN"] = token
		}
	}
	_, jaegerClient := env["JAEGER_ENDPOINT"]
	_, otelSDK := env["OTEL_EXPORTER_OTLP_ENDPOINT"]
	all := map[string]string{}
	for _, kv := range os.Environ() {
		key, value, _ := strings.Cut(kv, "=")
		switch {
		case key == "REPLY_TIMEOUT", key == "CLEANER_NAME", key == "BAD_THINGS",
			jaegerClient && strings.HasPrefix(key, "JAEGER_"), // JAEGER_DISABLED, JAEGER_SAMPLER_*
			otelSDK && strings.HasPrefix(key, "OTEL_"):
			all[key] = value
		}
	}
	for _, kv := range baseEnv() {
		key, value, _ := strings.Cut(kv, "=")
		all[key] = value
	}
	maps.Copy(all, env) // the step's wiring wins
	return all, nil
}

// sendToken reports whether GITHUB_TOKEN goes to the program that calls
// GitHub: only to a GitHub that the learner chose (GITHUB_API_URL), and
// only over HTTPS. Never to the stand-in, which needs none.
func (r *runner) sendToken() bool {
	u, err := url.Parse(r.cfg.GitHubURL)
	return r.cfg.GitHubURL != "" && err == nil && u.Scheme == "https" && u.Host != ""
}

// baseEnv is what every program, redis-server and Jaeger get of the
// learner's environment: what a program needs to run, and nothing else.
func baseEnv() []string {
	var env []string
	for _, key := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"} {
		if value, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+value)
		}
	}
	return env
}

// envList is env as exec.Cmd.Env takes it, sorted.
func envList(env map[string]string) []string {
	var list []string
	for _, key := range slices.Sorted(maps.Keys(env)) {
		list = append(list, key+"="+env[key])
	}
	return list
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
	case topology.JaegerCollector, topology.JaegerOTLP, topology.JaegerSampling:
		if r.jaeger == nil {
			return ""
		}
		endpoint := map[string]string{topology.JaegerCollector: r.jaeger.CollectorEndpoint,
			topology.JaegerOTLP: r.jaeger.OTLPEndpoint, topology.JaegerSampling: r.jaeger.SamplingURL}[name]
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
		programsErr := stopAll(programStops)
		close(done)
		r.stopErr = errors.Join(programsErr, stopAll(append(others, closers...)))
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
		if in := p.current(); in != nil && in.proc.Running() {
			names = append(names, p.name)
			longest = max(longest, in.timeout)
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

func stopAll(stops []func() error) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Go(func() { errs[i] = stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
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
		case !r.sendToken():
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
