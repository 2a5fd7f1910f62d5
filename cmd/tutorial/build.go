//go:build !windows

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/paths"
	"github.com/tracing-tutorial/tutorial/internal/topology"
)

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
