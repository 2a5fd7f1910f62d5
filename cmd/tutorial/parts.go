//go:build !windows

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/topology"
)

// The system will fail, and the learner may make it fail: while a step
// runs, any part of it (a program, Redis, Jaeger) can be stopped, killed,
// paused, resumed and restarted from another terminal (control.go). When
// a part dies, killed or crashed, the rest keeps running and the runner
// says how to bring it back.

// part is one thing of the running step that the learner can stop and
// restart: a program, Redis or Jaeger.
type part struct {
	name    string // what the learner calls it: "cleaner", "redis", "jaeger"
	program bool   // one of the step's programs, stopped before Redis and Jaeger
	rank    int    // where it comes in lists: the programs in order, Redis, Jaeger
	// start starts it and returns once it is ready (a program answers
	// its /healthz), on the same port and with the same environment every
	// time.
	start func(ctx context.Context) (*instance, error)
	// lost is what a restart loses, if anything: said when it dies and
	// when it is restarted.
	lost string

	op  sync.Mutex // one operation at a time: stop, kill, restart, shutdown
	mu  sync.Mutex
	cur *instance // nil: not running
}

// process is a part's process: a program or Redis (*stack.Process, whose
// latest start this is), Jaeger or one of its roles (*proc.Process).
type process interface {
	Exited() <-chan struct{}
	Running() bool
	Err() error
	Pid() int
	Kill()
	Signal(syscall.Signal)
}

// instance is one run of a part.
type instance struct {
	proc process
	// stop stops it in order (SIGTERM, a wait, SIGKILL) and cleans up
	// after it; it does no harm after the process has exited.
	stop    func() error
	where   string        // "127.0.0.1:8002", for messages
	timeout time.Duration // how long stop waits before it kills (programs)
	asked   atomic.Bool   // its exit was asked for: not a death to report
	paused  atomic.Bool
}

func (p *part) current() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

func (p *part) set(old, in *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == old {
		p.cur = in
	}
}

// verbs are what the learner can do to a part, with what each does.
var verbs = [][2]string{
	{"stop", "stops it as Ctrl-C would: it finishes what it has in flight"},
	{"kill", "kills it at once (SIGKILL), as a crash would"},
	{"pause", "freezes it (SIGSTOP): it holds its connections and answers nothing, as a hung program does"},
	{"resume", "lets a paused part go on (SIGCONT)"},
	{"restart", "stops it if it runs, and starts it again: same port, same environment"},
	{"start", "starts a part that is not running"},
}

func isVerb(verb string) bool {
	return slices.ContainsFunc(verbs, func(v [2]string) bool { return v[0] == verb })
}

// bringBack is the command that brings part name back.
func bringBack(name string) string { return "go run ./cmd/tutorial restart " + name }

// addManaged registers p (whose first instance in is running) with the
// runner, and watches it.
func (r *runner) addManaged(p *part, in *instance) {
	r.mu.Lock()
	r.managed = append(r.managed, p)
	r.mu.Unlock()
	p.set(nil, in)
	go r.watch(p, in)
}

// watch reports in's death, unless it was asked for, and leaves the rest
// running.
func (r *runner) watch(p *part, in *instance) {
	<-in.proc.Exited()
	select { // a program that dies while the step starts fails the start
	case <-r.ready:
	case <-r.stopping:
		return
	}
	if in.asked.Load() || r.shutting.Load() {
		return
	}
	in.stop() // clean up after it; it has exited
	p.set(in, nil)
	r.reportDeath(p, in)
}

// reportDeath says that in, of part p, died, and how to bring it back.
func (r *runner) reportDeath(p *part, in *instance) {
	how := fmt.Sprint(in.proc.Err())
	if in.proc.Err() == nil {
		how = "exit status 0"
	}
	msg := fmt.Sprintf("\n%s died (%s). The rest keeps running.\n", p.name, how)
	if p.lost != "" {
		msg += p.lost + "\n"
	}
	msg += "Bring it back: " + bringBack(p.name) + "\n"
	r.console.Printf("%s", msg)
}

// parts returns the parts, programs first.
func (r *runner) parts() []*part {
	r.mu.Lock()
	defer r.mu.Unlock()
	parts := slices.Clone(r.managed)
	slices.SortFunc(parts, func(a, b *part) int { return cmp.Compare(a.rank, b.rank) })
	return parts
}

func (r *runner) partNames() []string {
	var names []string
	for _, p := range r.parts() {
		names = append(names, p.name)
	}
	return names
}

func (r *runner) findPart(name string) (*part, error) {
	for _, p := range r.parts() {
		if p.name == strings.ToLower(name) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("step %d has no part %q; its parts are %s", r.cfg.Step.Number, name, strings.Join(r.partNames(), ", "))
}

// do does verb to the part named name, for the learner, and returns what
// to tell them.
func (r *runner) do(ctx context.Context, verb, name string) (string, error) {
	if verb == "status" {
		return r.status(), nil
	}
	if !isVerb(verb) {
		return "", fmt.Errorf("no %q: the verbs are stop, kill, pause, resume, restart, start and status", verb)
	}
	p, err := r.findPart(name)
	if err != nil {
		return "", err
	}
	p.op.Lock()
	defer p.op.Unlock()
	if r.shutting.Load() {
		return "", errors.New("the step is stopping")
	}
	in := p.current()
	notRunning := fmt.Errorf("%s is not running. Start it: %s", p.name, bringBack(p.name))
	switch verb {
	case "stop":
		if in == nil {
			return p.name + " was not running. Start it: " + bringBack(p.name), nil
		}
		err := stopInstance(in)
		p.set(in, nil)
		msg := fmt.Sprintf("%s stopped", p.name)
		if err != nil {
			msg += fmt.Sprintf(" (%v)", err)
		}
		return msg + ". The rest keeps running.\nBring it back: " + bringBack(p.name), nil
	case "kill":
		if in == nil {
			return "", notRunning
		}
		in.asked.Store(true) // said here, not by watch
		in.proc.Kill()
		in.stop()
		p.set(in, nil)
		msg := fmt.Sprintf("%s killed (%v), as a crash would. The rest keeps running.\n", p.name, in.proc.Err())
		if p.lost != "" {
			msg += p.lost + "\n"
		}
		return msg + "Bring it back: " + bringBack(p.name), nil
	case "pause":
		if in == nil {
			return "", notRunning
		}
		in.proc.Signal(syscall.SIGSTOP)
		in.paused.Store(true)
		return fmt.Sprintf("%s paused (SIGSTOP): it holds its port and connections, and answers nothing.\nLet it go on: go run ./cmd/tutorial resume %s", p.name, p.name), nil
	case "resume":
		if in == nil {
			return "", notRunning
		}
		in.proc.Signal(syscall.SIGCONT)
		in.paused.Store(false)
		return p.name + " resumed.", nil
	}
	// start, restart
	if in != nil && verb == "start" {
		return p.name + " is running already (to restart it: go run ./cmd/tutorial restart " + p.name + ")", nil
	}
	again := "started"
	if in != nil {
		again = "restarted"
		if err := stopInstance(in); err != nil {
			r.console.Printf("%s: %v\n", p.name, err)
		}
		p.set(in, nil)
	}
	started, err := p.start(ctx)
	if err != nil {
		return "", fmt.Errorf("%s did not start again: %w", p.name, err)
	}
	if r.shutting.Load() { // Ctrl-C meanwhile
		stopInstance(started)
		return "", errors.New("the step is stopping")
	}
	p.set(nil, started)
	go r.watch(p, started)
	msg := fmt.Sprintf("%s %s on %s (pid %d).", p.name, again, started.where, started.proc.Pid())
	if p.lost != "" && again == "restarted" {
		msg += "\n" + p.lost
	}
	return msg, nil
}

// shutdown stops p, if it runs, when the step stops.
func (p *part) shutdown() error {
	p.op.Lock()
	defer p.op.Unlock()
	in := p.current()
	if in == nil {
		return nil
	}
	err := stopInstance(in)
	p.set(in, nil)
	return err
}

// stopInstance stops in in order, as asked: a paused process is let go on
// first, or SIGTERM would wait for it.
func stopInstance(in *instance) error {
	in.asked.Store(true)
	if in.paused.Load() {
		in.proc.Signal(syscall.SIGCONT)
	}
	return in.stop()
}

// status lists the parts and what they are doing.
func (r *runner) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Step %d (%s), run by pid %d:\n", r.cfg.Step.Number, r.cfg.Step.Dir, os.Getpid())
	for _, p := range r.parts() {
		in := p.current()
		state := "stopped"
		switch {
		case in == nil:
		case in.paused.Load():
			state = fmt.Sprintf("paused (pid %d, %s)", in.proc.Pid(), in.where)
		default:
			state = fmt.Sprintf("running (pid %d, %s)", in.proc.Pid(), in.where)
		}
		fmt.Fprintf(&b, "  %-13s %s\n", p.name, state)
	}
	// The stand-in GitHub runs inside the runner: no part to stop, but
	// the learner calls it, and asks where it is.
	if r.cfg.GitHubURL == "" {
		fmt.Fprintf(&b, "  %-13s running in the runner (%s), the stand-in; it stops with the runner\n", "github", r.address(topology.GitHub))
	} else {
		fmt.Fprintf(&b, "  %-13s %s (from GITHUB_API_URL)\n", "github", r.cfg.GitHubURL)
	}
	return b.String()
}
