//go:build !windows

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// Starting the step: Jaeger found (the learner's own, or built), then
// everything through internal/infra/stack on the ports the learner chose, and
// each part handed to parts.go for the learner to break and mend.

// start finds Jaeger, then starts the step through internal/infra/stack, and
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
	r.jaeger = s.Jaeger
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
	jaeger.HurryBackgroundBuild()
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

// binDir is where step's programs are built: in the cache, apart for each
// clone (root), so that the next run finds them there. go build -o leaves a
// binary alone when it is up to date (it compares build IDs), and then takes
// a fraction of a second instead of linking anew.
func binDir(root string, step topology.Step) (string, error) {
	cache, err := paths.CacheDir() // Jaeger's too
	if err != nil {
		return "", fmt.Errorf("no cache directory for the programs (set TUTORIAL_CACHE_DIR): %w", err)
	}
	clone := sha256.Sum256([]byte(root))
	return filepath.Join(cache, "programs", hex.EncodeToString(clone[:6]), step.Dir), nil
}
