//go:build !windows

package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
)

// choosePorts fills in the ports, and fails with what to do if one is
// taken already.
func (r *runner) choosePorts() error {
	cfg, step := &r.cfg, r.cfg.Step
	if step.NeedsRedis() {
		if _, err := exec.LookPath("redis-server"); err != nil {
			return fmt.Errorf("step %d needs redis-server, and it is not installed: sudo apt-get install -y redis-server (Debian, Ubuntu, WSL2), brew install redis (macOS), or make deps", step.Number)
		}
	}
	type use struct {
		port int
		what string
		flag string
		udp  bool
	}
	var uses []use
	r.programPorts = map[string]int{}
	for _, p := range step.Programs {
		port := 0
		if cfg.Port != 0 {
			port = cfg.Port + p.Port - step.Programs[0].Port
		}
		r.programPorts[p.Service] = port
		uses = append(uses, use{port, label(step, p), "-port", false})
	}
	if step.NeedsJaeger() {
		uses = append(uses,
			use{cfg.JaegerPort, "Jaeger's query API", "-jaeger-port", false},
			use{cfg.CollectorPort, "Jaeger's collector", "-collector-port", false},
			use{cfg.AgentPort, "Jaeger's UDP agent", "-agent-port", true})
	}
	if cfg.GitHubURL == "" {
		uses = append(uses, use{cfg.GitHubPort, "the stand-in GitHub", "-github-port", false})
	}
	if step.NeedsRedis() {
		if cfg.RedisPort != 0 && !cfg.RedisPortSet && ports.InUse(cfg.RedisPort, false) != nil {
			// Debian's redis-server package starts a system-wide Redis
			// on 6379. Nobody needs the tutorial's own on that port.
			r.console.Printf("Port %d is taken (by a system Redis?): the tutorial's own Redis takes a free one.\n", cfg.RedisPort)
			cfg.RedisPort = 0
		}
		uses = append(uses, use{cfg.RedisPort, "Redis", "-redis-port", false})
	}

	var taken []string
	var fix []string
	for _, u := range uses {
		if u.port == 0 || ports.InUse(u.port, u.udp) == nil {
			continue
		}
		taken = append(taken, fmt.Sprintf("  %d (%s): change it with %s", u.port, u.what, u.flag))
		if !slices.Contains(fix, u.flag) {
			fix = append(fix, u.flag)
		}
	}
	if len(taken) > 0 {
		var example []string
		for _, flag := range fix {
			example = append(example, fmt.Sprintf("%s %d", flag, r.defaultPlus100(flag)))
		}
		return fmt.Errorf("ports already in use on %s:\n%s\nIs another `make run` (or a Jaeger) still running? Stop it, or choose free ports:\n  go run ./cmd/tutorial run %s %d\n(`lsof -i :PORT` shows what holds a port.)",
			loopback, strings.Join(taken, "\n"), strings.Join(example, " "), step.Number)
	}

	// 0: a free port now. (Jaeger picks its own.)
	var err error
	for service, port := range r.programPorts {
		if port == 0 {
			if r.programPorts[service], err = ports.Free(); err != nil {
				return err
			}
		}
	}
	for _, port := range []*int{&cfg.GitHubPort, &cfg.RedisPort} {
		if *port == 0 {
			if *port, err = ports.Free(); err != nil {
				return err
			}
		}
	}
	return nil
}

// defaultPlus100 suggests a port for flag: the current one plus 100.
func (r *runner) defaultPlus100(flag string) int {
	port := map[string]int{
		"-port": r.cfg.Port, "-jaeger-port": r.cfg.JaegerPort, "-collector-port": r.cfg.CollectorPort,
		"-agent-port": r.cfg.AgentPort, "-github-port": r.cfg.GitHubPort, "-redis-port": r.cfg.RedisPort,
	}[flag]
	return port + 100
}
