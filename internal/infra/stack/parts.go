package stack

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"syscall"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// A stack's parts can each be stopped, killed, paused and restarted, as a
// learner breaks them on purpose (the runner's controls): a program or
// Redis (*Process, *Redis), the all-in-one Jaeger (*AllInOne) or one of
// its roles (Role). Each restarts on the same ports.

// AllInOne is the one Jaeger a stack started.
type AllInOne struct {
	binary string
	opts   jaeger.Options // its ports, once it has them: a restart takes the same

	mu   sync.Mutex
	inst *jaeger.Instance
}

func startAllInOne(ctx context.Context, binary string, opts jaeger.Options) (*AllInOne, error) {
	inst, err := jaeger.Start(ctx, binary, opts)
	if err != nil {
		return nil, err
	}
	opts.QueryPort, opts.CollectorPort, opts.AgentPort = portOf(inst.QueryURL), portOf(inst.CollectorEndpoint), portOf("udp://"+inst.AgentHostPort)
	return &AllInOne{binary: binary, opts: opts, inst: inst}, nil
}

// Instance returns the running Jaeger (the latest start).
func (a *AllInOne) Instance() *jaeger.Instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inst
}

func (a *AllInOne) process() *proc.Process { return a.Instance().Process() }

// Stop stops it (SIGTERM) and removes its files.
func (a *AllInOne) Stop() error { return a.Instance().Stop() }

// Kill kills it at once, as a crash would; its traces are gone.
func (a *AllInOne) Kill() {
	a.process().Kill()
	a.Instance().Stop() // its files
}

// Restart stops it, and starts a new, empty one on the same ports.
func (a *AllInOne) Restart(ctx context.Context) error {
	a.Stop()
	inst, err := jaeger.Start(ctx, a.binary, a.opts)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.inst = inst
	a.mu.Unlock()
	return nil
}

func (a *AllInOne) Pid() int                  { return a.process().Pid() }
func (a *AllInOne) Running() bool             { return a.process().Running() }
func (a *AllInOne) Exited() <-chan struct{}   { return a.process().Exited() }
func (a *AllInOne) Err() error                { return a.process().Err() }
func (a *AllInOne) Signal(sig syscall.Signal) { a.process().Signal(sig) }

// Role is one of Jaeger's roles a stack started (step 11 on).
type Role struct {
	*jaeger.Role
	Where string // its address, for messages
}

func (r Role) Pid() int                  { return r.Process().Pid() }
func (r Role) Running() bool             { return r.Process().Running() }
func (r Role) Exited() <-chan struct{}   { return r.Process().Exited() }
func (r Role) Err() error                { return r.Process().Err() }
func (r Role) Signal(sig syscall.Signal) { r.Process().Signal(sig) }

// portOf is the port of a URL ("http://127.0.0.1:16686/api"), or 0.
func portOf(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(u.Port())
	return port
}
