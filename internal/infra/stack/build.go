package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// MissingError is Start's error when the directory lacks a program of the
// step: a learner's copy not split into its programs yet, say.
type MissingError struct{ Msg string }

func (e *MissingError) Error() string { return e.Msg }

// packages returns where each program of step is in dir (the step's
// folder or a copy of it), by service, or a *MissingError.
func packages(step topology.Step, dir string) (map[string]string, error) {
	pkgs := map[string]string{}
	var missing []string
	for _, p := range step.Programs {
		pkg := filepath.Join(dir, strings.TrimPrefix(p.Package, "./"+step.Dir))
		if !hasGo(pkg) {
			missing = append(missing, strings.TrimPrefix(strings.TrimPrefix(pkg, dir), "/")+"/")
		}
		pkgs[p.Service] = pkg
	}
	if missing == nil {
		return pkgs, nil
	}
	if len(step.Programs) == 1 {
		return nil, &MissingError{fmt.Sprintf("no Go program in %s", dir)}
	}
	var all []string
	for _, p := range step.Programs {
		all = append(all, filepath.Base(p.Package)+"/")
	}
	return nil, &MissingError{fmt.Sprintf("%s has no %s: step %d runs %d programs, each in a folder of its own: %s (step %d's README shows the split)",
		dir, strings.Join(missing, ", "), step.Number, len(all), strings.Join(all, ", "), step.Number)}
}

func hasGo(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return true
		}
	}
	return false
}

// builds are the builds of this process, by binDir and packages: a test
// binary starts one step many times, and builds it once.
var builds sync.Map // string → *builtOnce

type builtOnce struct {
	once     sync.Once
	binaries map[string]string
	err      error
}

// build builds the packages into binDir with one go build, once per
// process, and returns each binary's path by service. go build -o leaves a binary alone when it
// is up to date (it compares build IDs), and then takes a fraction of a
// second instead of linking anew; a lock keeps two builds (a test and a
// learner's run) from writing the same binary at once.
func build(ctx context.Context, pkgs map[string]string, binDir string) (map[string]string, error) {
	key := binDir + "\x00" + strings.Join(slices.Sorted(maps.Values(pkgs)), "\x00")
	b, _ := builds.LoadOrStore(key, &builtOnce{})
	built := b.(*builtOnce)
	built.once.Do(func() { built.binaries, built.err = goBuild(ctx, pkgs, binDir) })
	if built.err != nil {
		builds.CompareAndDelete(key, built) // the learner fixes it, and tries again
	}
	return built.binaries, built.err
}

func goBuild(ctx context.Context, pkgs map[string]string, binDir string) (map[string]string, error) {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(binDir + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	binaries := map[string]string{}
	var dir string
	for service, pkg := range pkgs {
		args = append(args, pkg)
		binaries[service] = filepath.Join(binDir, filepath.Base(pkg))
		dir = pkg
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir // inside the module, wherever the copy is
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.Join(fmt.Errorf("go %s: %w", strings.Join(args, " "), err), errors.New(string(output)))
	}
	return binaries, nil
}
