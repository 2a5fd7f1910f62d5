package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/redisping"
)

// Redis is a redis-server of the stack's own: no persistence, loopback
// only.
type Redis struct {
	*Process
	addr string
	dir  string
}

// RedisMissing says how to install redis-server, when it is not.
const RedisMissing = "redis-server is not installed: sudo apt-get install -y redis-server (Debian, Ubuntu, WSL2), brew install redis (macOS), or make deps"

// StartRedis starts redis-server on port (0: a free one, and another if it
// is taken before redis-server binds it) and returns once that very
// process is ready: it has logged that it accepts connections, and the
// Redis answering on its port says it is that process (INFO's process_id),
// not another program's Redis. out is its log (nil: kept in memory).
func StartRedis(ctx context.Context, port int, out io.Writer) (*Redis, error) {
	binary, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New(RedisMissing)
	}
	dir, err := os.MkdirTemp("", "tutorial-redis-")
	if err != nil {
		return nil, err
	}
	start := func(port int) (*Process, error) {
		addr := ports.Addr(port)
		return StartProcess(ctx, Command{
			Name: "redis-server", Binary: binary, Env: BaseEnv(), Output: out,
			Args: []string{"--bind", ports.Loopback, "--port", strconv.Itoa(port),
				"--save", "", "--appendonly", "no", "--dir", dir},
			Ready: func(ctx context.Context, p *Process) error { return redisReady(ctx, p, addr) },
		})
	}
	var p *Process
	if port == 0 {
		p, port, err = StartOnFreePort(ctx, "redis-server", start)
	} else {
		p, err = start(port)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Redis{Process: p, addr: ports.Addr(port), dir: dir}, nil
}

// Addr returns the server's host:port, what REDIS_ADDR takes.
func (r *Redis) Addr() string { return r.addr }

// Restart starts the server again on the same port, empty, and returns
// once it is ready; it fails if another program took the port meanwhile.
func (r *Redis) Restart(ctx context.Context) error {
	err := r.Process.Restart(ctx)
	if err != nil && r.portTaken() {
		return fmt.Errorf("redis-server could not bind %s again: another program took the port while it was stopped", r.addr)
	}
	return err
}

// Close stops the server and removes its directory.
func (r *Redis) Close() error {
	defer os.RemoveAll(r.dir)
	return r.Stop()
}

// errNotOwn is the error of a Redis on the port that is not ours.
var errNotOwn = errors.New("not our own redis-server")

// redisReady waits until the latest start of p, a redis-server, has
// logged that it is ready to accept connections, and the Redis at addr
// says it is that process.
func redisReady(ctx context.Context, p *Process, addr string) error {
	pid := p.Pid()
	var notOwn error
	err := poll(ctx, p.Exited(), func() error {
		if !strings.Contains(p.current().tail.String(), "Ready to accept connections") {
			return errors.New("it has not logged that it is ready")
		}
		info, err := redisping.Info(addr, "server")
		if err != nil {
			return err
		}
		if info["process_id"] != strconv.Itoa(pid) {
			notOwn = fmt.Errorf("%w: the Redis on %s is process %q, ours is %d", errNotOwn, addr, info["process_id"], pid)
		}
		return nil
	})
	if err == nil {
		err = notOwn
	}
	return err
}
