// Package stack starts a step of the tutorial: Jaeger (all-in-one, or its
// roles from step 11), Redis, the stand-in GitHub and the step's programs,
// built from the step's folder or a learner's copy, wired as topology
// describes them. The runner (make run), make check, make bench and the
// end-to-end tests all start steps through it.
//
// It returns errors; the tests' helpers (internal/testkit/e2e, internal/lesson)
// turn them into failures.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// Options change how Start starts a step. The zero Options start
// everything on free ports, with the programs' output kept in memory.
type Options struct {
	// Dir holds the step's programs: the step's folder or a learner's
	// copy of it. "" is the step's own folder.
	Dir string
	// BinDir is where the programs are built; a later build there is
	// quick. "" is a temporary directory, removed by Stop.
	BinDir string
	// Ports are fixed ports, by part (topology.Redis, topology.GitHub) or
	// program service ("step7-gateway"); one not named, or 0, is a free
	// port. A fixed port that is taken is an error. (Jaeger's ports are
	// in JaegerOptions.)
	Ports map[string]int
	// Env is added to every program's environment, and ProgramEnv to one
	// program's, by Name ("cleaner", "step3"), last (see programEnv).
	Env        map[string]string
	ProgramEnv map[string]map[string]string
	// Output returns where a program's output goes as it writes it
	// (the runner prefixes its lines on the console); nil, or a nil
	// writer, keeps it all in memory, for Process.Output.
	Output func(name string) io.Writer
	// Drain makes Stop wait for each program's drain (topology's Drain
	// and ExitGrace) before it kills it, as a learner's Ctrl-C must;
	// otherwise StopTimeout.
	Drain bool
	// RunTag, if set, is a tracer tag (RunTagKey) on every span of the
	// stack's programs, to tell them from other stacks' in one Jaeger.
	RunTag string

	// GitHubURL is a GitHub of the caller's (GITHUB_API_URL); "" starts
	// the stand-in, with GitHubOptions.
	GitHubURL     string
	GitHubOptions fakegithub.Options

	// Jaeger is a Jaeger of the caller's (a test binary's shared one);
	// nil starts one for a step that traces: JaegerBinary (""
	// jaeger.ForChecks), with JaegerOptions, or the step's roles.
	Jaeger        *Jaeger
	JaegerBinary  string
	JaegerOptions jaeger.Options
	// BadgerDir is where step 11's storage role keeps its traces; "" a
	// temporary directory.
	BadgerDir string
	// Progress receives the lines of a first build of Jaeger.
	Progress io.Writer
}

// Jaeger is where a Jaeger receives spans and answers queries.
type Jaeger struct {
	QueryURL          string // the UI and the query API
	CollectorEndpoint string // jaeger.thrift over HTTP (all-in-one only): a JAEGER_ENDPOINT
	OTLPEndpoint      string // OTLP over HTTP: an OTEL_EXPORTER_OTLP_ENDPOINT
	SamplingURL       string // the collector's sampling strategies (step 12's roles); "" none
}

// Client returns a client of its query API.
func (j *Jaeger) Client() *jaeger.Client { return &jaeger.Client{QueryURL: j.QueryURL} }

// Stack is a step running.
type Stack struct {
	Step topology.Step
	// Jaeger is where the programs send spans; nil for a step that
	// does not trace. AllInOne or Roles is set when Start started it.
	Jaeger   *Jaeger
	AllInOne *AllInOne
	Roles    []Role // storage, collector, query
	JaegerUI string // the programs' JAEGER_UI: the base of their trace links
	RunTag   string

	Redis     *Redis  // nil for a step without Redis
	GitHub    *GitHub // the stand-in; nil with Options.GitHubURL
	GitHubURL string  // what the programs call, with a trailing slash

	Programs map[string]*Process // by Name: "gateway", "step3"
	URLs     map[string]string   // each program's base URL, by Name
	Addrs    map[string]string   // host:port of each part and program, by topology name
	URL      string              // the public program's base URL

	opts     Options
	mu       sync.Mutex
	closers  []func() error // the parts, in start order
	stopOnce sync.Once
	stopErr  error
}

// Start brings step up and returns once every program answers its
// /healthz. ctx bounds the start only; the stack runs until Stop. On an
// error, what was started is stopped. A program missing from opts.Dir is a
// *MissingError.
func Start(ctx context.Context, step topology.Step, opts Options) (*Stack, error) {
	if opts.Dir == "" {
		root, err := paths.Root(".")
		if err != nil {
			return nil, err
		}
		opts.Dir = filepath.Join(root, step.Dir)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	pkgs, err := packages(step, dir)
	if err != nil {
		return nil, err
	}
	s := &Stack{Step: step, RunTag: opts.RunTag, opts: opts,
		Programs: map[string]*Process{}, URLs: map[string]string{}, Addrs: map[string]string{}}
	if opts.BinDir == "" {
		tmp, err := os.MkdirTemp("", "tutorial-programs-")
		if err != nil {
			return nil, err
		}
		opts.BinDir = tmp
		s.closers = append(s.closers, func() error { return os.RemoveAll(tmp) })
	}

	// Jaeger, Redis, GitHub and the build, side by side.
	var binaries map[string]string
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Go(func() { binaries, errs[0] = build(ctx, pkgs, opts.BinDir) })
	if step.NeedsJaeger() {
		wg.Go(func() { errs[1] = s.startJaeger(ctx) })
	}
	if step.NeedsRedis() {
		wg.Go(func() { errs[2] = s.startRedis(ctx) })
	}
	wg.Go(func() { errs[3] = s.startGitHub() })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	if err := s.startPrograms(ctx, binaries); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

func (s *Stack) addCloser(close func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, close)
}

func (s *Stack) setAddr(name, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Addrs[name] = addr
}

func (s *Stack) startJaeger(ctx context.Context) error {
	if s.opts.Jaeger != nil {
		s.useJaeger(*s.opts.Jaeger)
		return nil
	}
	binary := s.opts.JaegerBinary
	if binary == "" {
		var err error
		if binary, err = jaeger.ForChecks(ctx, cmpWriter(s.opts.Progress)); err != nil {
			return err
		}
	}
	if s.Step.JaegerRoles != "" {
		roles, err := jaeger.StartRoles(ctx, binary, jaeger.RolesOptions{
			ConfigDir: filepath.Join(s.opts.Dir, strings.TrimPrefix(s.Step.JaegerRoles, s.Step.Dir)),
			BadgerDir: s.opts.BadgerDir,
			QueryPort: s.opts.JaegerOptions.QueryPort,
			Env:       BaseEnv(),
		})
		if err != nil {
			return err
		}
		s.Roles = []Role{{roles.Storage, roles.StorageAddr}, {roles.Collector, roles.OTLPEndpoint}, {roles.Query, roles.QueryURL}}
		s.addCloser(roles.Stop)
		s.useJaeger(Jaeger{QueryURL: roles.QueryURL, OTLPEndpoint: roles.OTLPEndpoint, SamplingURL: roles.SamplingURL})
		return nil
	}
	jopts := s.opts.JaegerOptions
	if jopts.Env == nil {
		jopts.Env = BaseEnv()
	}
	a, err := startAllInOne(ctx, binary, jopts)
	if err != nil {
		return err
	}
	s.AllInOne = a
	s.addCloser(a.Stop) // the latest start's
	inst := a.Instance()
	s.useJaeger(Jaeger{QueryURL: inst.QueryURL, CollectorEndpoint: inst.CollectorEndpoint, OTLPEndpoint: inst.OTLPEndpoint})
	return nil
}

func (s *Stack) useJaeger(j Jaeger) {
	s.Jaeger, s.JaegerUI = &j, j.QueryURL
	if j.CollectorEndpoint != "" { // the roles take OTLP only
		s.setAddr(topology.JaegerCollector, hostOf(j.CollectorEndpoint))
	}
	s.setAddr(topology.JaegerOTLP, hostOf(j.OTLPEndpoint))
	// Step 12's remote sampler asks the collector how to sample. A Jaeger
	// that serves no strategies (the all-in-one) gets an address where
	// nothing listens: the SDK keeps its initial rate, every trace.
	sampling := "127.0.0.1:1"
	if j.SamplingURL != "" {
		sampling = hostOf(j.SamplingURL)
	}
	s.setAddr(topology.JaegerSampling, sampling)
}

func (s *Stack) startRedis(ctx context.Context) error {
	r, err := StartRedis(ctx, s.opts.Ports[topology.Redis], io.Discard)
	if err != nil {
		return err
	}
	s.Redis = r
	s.addCloser(r.Close)
	s.setAddr(topology.Redis, r.Addr())
	return nil
}

func (s *Stack) startGitHub() error {
	if s.opts.GitHubURL != "" {
		s.GitHubURL = s.opts.GitHubURL
		s.setAddr(topology.GitHub, hostOf(s.opts.GitHubURL))
		return nil
	}
	g, err := StartGitHub(s.opts.Ports[topology.GitHub], s.opts.GitHubOptions)
	if err != nil {
		return fmt.Errorf("the stand-in GitHub: %w", err)
	}
	s.GitHub, s.GitHubURL = g, g.URL
	s.addCloser(g.Close)
	s.setAddr(topology.GitHub, g.Addr)
	return nil
}

// startPrograms starts the programs, each once the programs it calls
// listen (their addresses are in its environment), those that can side by
// side, and waits until each answers its /healthz.
func (s *Stack) startPrograms(ctx context.Context, binaries map[string]string) error {
	pending := slices.Clone(s.Step.Programs)
	for len(pending) > 0 {
		var now, later []topology.Program
		for _, p := range pending {
			if _, err := topology.Resolve(p.Env, s.address); err == nil {
				now = append(now, p)
			} else {
				later = append(later, p)
			}
		}
		if len(now) == 0 {
			return fmt.Errorf("step %d: programs wait for each other: %v", s.Step.Number, pending)
		}
		errs := make([]error, len(now))
		var wg sync.WaitGroup
		for i, p := range now {
			wg.Go(func() { errs[i] = s.startProgram(ctx, p, binaries[p.Service]) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		pending = later
	}
	return nil
}

func (s *Stack) address(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr, ok := s.Addrs[name]
	return addr, ok
}

func (s *Stack) startProgram(ctx context.Context, p topology.Program, binary string) error {
	wiring, err := topology.Resolve(p.Env, s.address)
	if err != nil {
		return err
	}
	name := Name(s.Step, p)
	var out io.Writer
	if s.opts.Output != nil {
		out = s.opts.Output(name)
	}
	start := func(port int) (*Process, error) {
		env := s.programEnv(p, wiring, port)
		stop := StopTimeout
		if s.opts.Drain {
			stop = p.Drain(envMap(env)) + topology.ExitGrace // a Ctrl-C during a slow request still answers it
		}
		healthz := "http://" + ports.Addr(port) + "/healthz"
		return StartProcess(ctx, Command{Name: name, Binary: binary, Env: env, Output: out, StopTimeout: stop,
			Ready: func(ctx context.Context, proc *Process) error {
				if err := Listening(port)(ctx, proc); err != nil {
					return err
				}
				return WaitHealthy(ctx, healthz, proc.Exited())
			}})
	}
	var process *Process
	port := s.opts.Ports[p.Service]
	if port == 0 {
		process, port, err = StartOnFreePort(ctx, name, start)
	} else {
		process, err = start(port)
	}
	if err != nil {
		return err
	}
	addr := ports.Addr(port)
	s.mu.Lock()
	s.Programs[name] = process
	s.URLs[name] = "http://" + addr
	s.Addrs[p.Service] = addr
	if p.Public {
		s.URL = "http://" + addr
	}
	s.mu.Unlock()
	return nil
}

// Public returns the step's public program (the gateway).
func (s *Stack) Public() *Process {
	for _, p := range s.Step.Programs {
		if p.Public {
			return s.Programs[Name(s.Step, p)]
		}
	}
	return nil
}

// Stop stops the programs first, side by side, with SIGTERM so that they
// finish their requests and flush their spans; then Jaeger, Redis and the
// stand-in. It returns what did not stop cleanly. It is safe to call more
// than once.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		var programs []func() error
		for _, p := range s.Programs {
			programs = append(programs, p.Stop)
		}
		closers := slices.Clone(s.closers)
		s.mu.Unlock()
		s.stopErr = errors.Join(All(programs), All(closers))
	})
	return s.stopErr
}

// All runs each of stops side by side and returns their errors.
func All(stops []func() error) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Go(func() { errs[i] = stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		key, value, _ := strings.Cut(kv, "=")
		m[key] = value
	}
	return m
}

func cmpWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// NewRunTag returns a random run tag, for Options.RunTag.
func NewRunTag() string { return RandomHex(8) }

// RandomHex returns n random bytes in hex, with no leading zero (Jaeger
// would drop it from a trace ID).
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	b[0] |= 0x10
	return hex.EncodeToString(b)
}
