package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/proc"
	"github.com/tracing-tutorial/tutorial/internal/topology"
)

// parts are what every run shares: Jaeger, Redis and the stand-in GitHub.
type parts struct {
	jaeger *jaeger.Instance
	redis  *proc.Process
	addr   map[string]string // part name → host:port, for topology.Resolve
	stop   []func()
}

func startParts(ctx context.Context, log io.Writer) (*parts, error) {
	p := &parts{addr: map[string]string{}}
	binary, err := jaeger.Binary(ctx, log)
	if err != nil {
		return nil, err
	}
	p.jaeger, err = jaeger.Start(ctx, binary, jaeger.Options{})
	if err != nil {
		return p, err
	}
	p.stop = append(p.stop, func() { p.jaeger.Stop() })
	p.addr[topology.JaegerCollector] = hostPort(p.jaeger.CollectorEndpoint)

	redisPort, err := freePort()
	if err != nil {
		return p, err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(redisPort), "--save", "", "--appendonly", "no")
	p.redis, err = proc.Start("redis-server", nil, cmd)
	if err != nil {
		return p, fmt.Errorf("%w (make deps installs redis-server)", err)
	}
	p.stop = append(p.stop, func() { p.redis.Stop(5 * time.Second) })
	p.addr[topology.Redis] = net.JoinHostPort("127.0.0.1", strconv.Itoa(redisPort))
	if err := waitTCP(ctx, p.addr[topology.Redis]); err != nil {
		return p, fmt.Errorf("redis-server: %w", err)
	}

	// The stand-in answers at once (no 202 first): the bench measures our
	// programs, not GitHub's statistics being computed.
	github := &http.Server{Handler: fakegithub.New(fakegithub.Options{}), ReadHeaderTimeout: 5 * time.Second}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return p, err
	}
	go github.Serve(listener)
	p.stop = append(p.stop, func() { github.Close() })
	p.addr[topology.GitHub] = listener.Addr().String()
	return p, nil
}

func (p *parts) Stop() {
	for i := len(p.stop) - 1; i >= 0; i-- {
		p.stop[i]()
	}
}

// programs are one start of the step's programs.
type programs struct {
	running []*proc.Process
	public  string // the gateway's base URL
}

// build compiles the step's programs once, into dir.
func build(ctx context.Context, step topology.Step, dir string) error {
	for _, program := range step.Programs {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, program.Service), program.Package)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", program.Package, err)
		}
	}
	return nil
}

// startPrograms starts the step's programs, with extra added to each
// one's environment (JAEGER_DISABLED=true, say), and waits until each is
// healthy. Their logs go to log.
func startPrograms(ctx context.Context, step topology.Step, dir string, p *parts, extra []string, log io.Writer) (*programs, error) {
	ports := map[string]string{}
	for _, program := range step.Programs {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[program.Service] = strconv.Itoa(port)
		p.addr[program.Service] = net.JoinHostPort("127.0.0.1", ports[program.Service])
	}
	run := &programs{}
	for _, program := range step.Programs {
		env, err := topology.Resolve(program.Env, func(name string) (string, bool) {
			addr, ok := p.addr[name]
			return addr, ok
		})
		if err != nil {
			run.Stop()
			return nil, err
		}
		env["PORT"] = ports[program.Service]
		env["HOST"] = "127.0.0.1"
		env["BAD_THINGS"] = "off" // the bench measures tracing, not step 2's lock
		cmd := exec.Command(filepath.Join(dir, program.Service))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for key, value := range env {
			cmd.Env = append(cmd.Env, key+"="+value)
		}
		cmd.Env = append(cmd.Env, extra...)
		started, err := proc.Start(program.Service, log, cmd)
		if err != nil {
			run.Stop()
			return nil, err
		}
		run.running = append(run.running, started)
		if program.Public {
			run.public = "http://" + p.addr[program.Service]
		}
	}
	for _, program := range step.Programs {
		if err := waitHealthy(ctx, "http://"+p.addr[program.Service]+"/healthz"); err != nil {
			run.Stop()
			return nil, fmt.Errorf("%s: %w", program.Service, err)
		}
	}
	return run, nil
}

// Stop stops the programs as docker stop would (SIGTERM), which flushes
// their spans.
func (r *programs) Stop() error {
	var errs []error
	for _, p := range r.running {
		if err := p.Stop(30 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func waitHealthy(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy at %s: %v", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func waitTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hostPort returns the host:port of a URL such as http://127.0.0.1:P/api/traces.
func hostPort(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}

func cpus() int { return runtime.NumCPU() }
