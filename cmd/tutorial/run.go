//go:build !windows

package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// A run of a step: start it, show the example, serve the controls, and
// stop everything in order on Ctrl-C.

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
		c.Printf("%s", jaeger.BuildInBackground(buildJaegerCommand))
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
