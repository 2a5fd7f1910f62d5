package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/topology"
)

const module = "github.com/tracing-tutorial/tutorial"

// findRoot walks up from the working directory to the tutorial's root.
func findRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module "+module+"\n") {
			return dir, nil
		}
		if dir == filepath.Dir(dir) {
			return "", fmt.Errorf("%s is not in the tutorial's clone: cd into it first", wd)
		}
	}
}

// binDir is where step's programs are built: in the cache, apart for each
// clone (root), so that the next run finds them there. go build -o leaves a
// binary alone when it is up to date (it compares build IDs), and then takes
// a fraction of a second instead of linking anew.
func binDir(root string, step topology.Step) (string, error) {
	cache := os.Getenv("TUTORIAL_CACHE_DIR") // as internal/jaeger
	if cache == "" {
		userCache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for the programs (set TUTORIAL_CACHE_DIR): %w", err)
		}
		cache = filepath.Join(userCache, "tracing-tutorial")
	}
	clone := sha256.Sum256([]byte(root))
	return filepath.Join(cache, "programs", hex.EncodeToString(clone[:6]), step.Dir), nil
}

// binary is the path of program p once built.
func (r *runner) binary(p topology.Program) string {
	return filepath.Join(r.bin, path.Base(p.Package))
}

// build builds the step's programs.
func (r *runner) build(ctx context.Context) error {
	dir := r.bin
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Two runs of one step (a test and a learner) must not write the same
	// binary at once.
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}

	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range r.cfg.Step.Programs {
		args = append(args, p.Package)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.root
	start := time.Now()
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("building step %d failed (go %s):\n%s", r.cfg.Step.Number, strings.Join(args, " "), output)
	}
	if took := time.Since(start); took > 2*time.Second {
		r.console.Printf("Built step %d's programs in %.1fs.\n", r.cfg.Step.Number, took.Seconds())
	}
	return nil
}

// ping sends Redis a PING in RESP, its wire protocol, and expects +PONG. It
// answers -LOADING while it is not ready.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
