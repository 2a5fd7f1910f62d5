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
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// The system will fail, and the learner may make it fail: while a step
// runs, any part of it (a program, Redis, Jaeger) can be stopped, killed,
// paused, resumed and restarted from another terminal (control.go). When
// a part dies, killed or crashed, the rest keeps running and the runner
// says how to bring it back.

// handle is what internal/infra/stack gives for each part of a running step
// (stack.Process, stack.Redis, stack.AllInOne, stack.Role): it restarts
// on the same port, with the same environment, and waits until ready.
type handle interface {
	Stop() error
	Kill()
	Restart(ctx context.Context) error
	Signal(sig syscall.Signal)
	Pid() int
	Running() bool
	Exited() <-chan struct{}
	Err() error
}

// part is one thing of the running step that the learner can stop and
// restart.
type part struct {
	h       handle
	name    string        // what the learner calls it: "cleaner", "redis", "jaeger"
	where   string        // "127.0.0.1:8002", for messages
	program bool          // one of the step's programs, stopped before Redis and Jaeger
	rank    int           // where it comes in lists: the programs in order, Redis, Jaeger
	timeout time.Duration // how long stopping it may take (a program's drain)
	lost    string        // what a restart loses, if anything

	op     sync.Mutex // one operation at a time: stop, kill, restart, shutdown
	mu     sync.Mutex
	start  int  // which start of it runs: 1, 2…
	asked  int  // the start whose exit was asked for: not a death to report
	paused bool // SIGSTOP'd
}

// ask marks the running start's exit as asked for, and lets it go on if
// it was paused, or SIGTERM would wait for it.
func (p *part) ask() {
	p.mu.Lock()
	p.asked = p.start
	paused := p.paused
	p.paused = false
	p.mu.Unlock()
	if paused {
		p.h.Signal(syscall.SIGCONT)
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

// addPart registers p, running, with the runner, and watches it.
func (r *runner) addPart(p *part) {
	r.mu.Lock()
	r.managed = append(r.managed, p)
	r.mu.Unlock()
	r.watch(p)
}

// watch reports the death of p's running start, unless its exit was asked
// for, and leaves the rest running.
func (r *runner) watch(p *part) {
	p.mu.Lock()
	p.start++
	start, exited := p.start, p.h.Exited()
	p.mu.Unlock()
	go func() {
		<-exited
		select { // a program that dies while the step starts fails the start
		case <-r.ready:
		case <-r.stopping:
			return
		}
		p.mu.Lock()
		asked := p.asked == start
		p.mu.Unlock()
		if asked || r.shutting.Load() {
			return
		}
		p.h.Stop() // clean up after it; it has exited
		r.reportDeath(p)
	}()
}

// reportDeath says that part p died, and how to bring it back.
func (r *runner) reportDeath(p *part) {
	how := fmt.Sprint(p.h.Err())
	if p.h.Err() == nil {
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
	running := p.h.Running()
	notRunning := fmt.Errorf("%s is not running. Start it: %s", p.name, bringBack(p.name))
	switch verb {
	case "stop":
		if !running {
			return p.name + " was not running. Start it: " + bringBack(p.name), nil
		}
		p.ask()
		msg := fmt.Sprintf("%s stopped", p.name)
		if err := p.h.Stop(); err != nil {
			msg += fmt.Sprintf(" (%v)", err)
		}
		return msg + ". The rest keeps running.\nBring it back: " + bringBack(p.name), nil
	case "kill":
		if !running {
			return "", notRunning
		}
		p.ask() // said here, not by watch
		p.h.Kill()
		msg := fmt.Sprintf("%s killed (%v), as a crash would. The rest keeps running.\n", p.name, p.h.Err())
		if p.lost != "" {
			msg += p.lost + "\n"
		}
		return msg + "Bring it back: " + bringBack(p.name), nil
	case "pause", "resume":
		if !running {
			return "", notRunning
		}
		p.mu.Lock()
		p.paused = verb == "pause"
		p.mu.Unlock()
		if verb == "resume" {
			p.h.Signal(syscall.SIGCONT)
			return p.name + " resumed.", nil
		}
		p.h.Signal(syscall.SIGSTOP)
		return fmt.Sprintf("%s paused (SIGSTOP): it holds its port and connections, and answers nothing.\nLet it go on: go run ./cmd/tutorial resume %s", p.name, p.name), nil
	}
	// start, restart
	if running && verb == "start" {
		return p.name + " is running already (to restart it: go run ./cmd/tutorial restart " + p.name + ")", nil
	}
	again := "started"
	if running {
		again = "restarted"
		p.ask()
		if err := p.h.Stop(); err != nil {
			r.console.Printf("%s: %v\n", p.name, err)
		}
	}
	if err := p.h.Restart(ctx); err != nil {
		return "", fmt.Errorf("%s did not start again: %w", p.name, err)
	}
	r.watch(p)
	if r.shutting.Load() { // Ctrl-C meanwhile
		p.stop()
		return "", errors.New("the step is stopping")
	}
	msg := fmt.Sprintf("%s %s on %s (pid %d).", p.name, again, p.where, p.h.Pid())
	if p.lost != "" && again == "restarted" {
		msg += "\n" + p.lost
	}
	return msg, nil
}

// shutdown stops p, if it runs, when the step stops: after whatever the
// learner is doing to it.
func (p *part) shutdown() error {
	p.op.Lock()
	defer p.op.Unlock()
	return p.stop()
}

func (p *part) stop() error {
	if !p.h.Running() {
		return nil
	}
	p.ask()
	return p.h.Stop()
}

// status lists the parts and what they are doing.
func (r *runner) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Step %d (%s), run by pid %d:\n", r.cfg.Step.Number, r.cfg.Step.Dir, os.Getpid())
	for _, p := range r.parts() {
		p.mu.Lock()
		paused := p.paused
		p.mu.Unlock()
		state := "stopped"
		switch {
		case !p.h.Running():
		case paused:
			state = fmt.Sprintf("paused (pid %d, %s)", p.h.Pid(), p.where)
		default:
			state = fmt.Sprintf("running (pid %d, %s)", p.h.Pid(), p.where)
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
