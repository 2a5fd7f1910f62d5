//go:build !windows

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// Steps 1 and 2 build Jaeger in the background for step 3
// (jaeger.BuildInBackground): the build is this program's `build-jaeger`.

// buildJaegerCommand is the background build: this program's
// `build-jaeger`.
func buildJaegerCommand() (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(self, "build-jaeger"), nil
}

// jaegerStatus is one line on the background build for the hints, or "".
func jaegerStatus(step topology.Step) string {
	if step.NeedsJaeger() {
		return ""
	}
	if progress := jaeger.BackgroundProgress(); progress != "" {
		return fmt.Sprintf("Jaeger (for step 3): %s\n", progress)
	}
	return ""
}

// buildJaegerMain is `tutorial build-jaeger`: the background build.
func buildJaegerMain() int {
	syscall.Setpriority(syscall.PRIO_PROCESS, 0, jaeger.BackgroundNice) // inherited by go build and the compilers
	start := time.Now()
	path, err := jaeger.Binary(context.Background(), os.Stdout)
	if err != nil {
		fmt.Println("jaeger: the build failed; step 3 will try again:", err)
		return 1
	}
	fmt.Printf("jaeger: ready in %s: %s\n", time.Since(start).Round(time.Second), path)
	// Then what the traced steps' programs import (jaeger-client-go…),
	// into Go's build cache, so that step 3's own build is short too.
	args := []string{"build"}
	for _, step := range topology.Steps() {
		for _, p := range step.Programs {
			if step.NeedsJaeger() {
				args = append(args, p.Package)
			}
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir, _ = paths.Root(".")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	if err := cmd.Run(); err == nil {
		fmt.Printf("jaeger: the steps' programs compiled too, in %s in all\n", time.Since(start).Round(time.Second))
	}
	return 0
}
