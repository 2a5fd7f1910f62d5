//go:build !windows

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// Steps 1 and 2 need no Jaeger, and a learner spends minutes on them. So
// their `make run` starts building Jaeger in the background, and step 3
// finds it built (or waits for the rest of the build, not the whole of
// it).
//
// The build is a process of its own: in a session of its own, so a Ctrl-C
// in the terminal does not reach it and it outlives the run that started
// it; at low priority (nice 10), so the step's programs and the learner's
// other work come first, while a machine that is busy with something else
// (a video call) still lets it move on, as nice 19 would not. It
// writes its progress to a log beside the binary; the runner says where,
// and says again how far it got when it prints its hints.

// buildJaegerCommand is the background build: this program's
// `build-jaeger`. (A variable for the tests.)
var buildJaegerCommand = func() (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(self, "build-jaeger"), nil
}

// prebuildJaeger starts Jaeger's build in the background unless Jaeger is
// built or being built, and returns what to tell the learner ("" for
// nothing).
func prebuildJaeger() string {
	path, built, err := jaeger.Cached()
	if err != nil || built {
		return ""
	}
	// A Jaeger of the learner's own needs no build.
	if _, own, err := jaeger.Own(context.Background()); own || err != nil {
		return ""
	}
	log := jaeger.BuildLog(path)
	if building(path) {
		return fmt.Sprintf("Jaeger (for step 3 on) is building in the background: %s (progress: tail -f %s)\n", buildProgress(log), log)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ""
	}
	out, err := os.Create(log)
	if err != nil {
		return ""
	}
	defer out.Close()
	cmd, err := buildJaegerCommand()
	if err != nil {
		return ""
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Sprintf("Could not start building Jaeger in the background (%v); step 3 will build it.\n", err)
	}
	os.WriteFile(filepath.Join(filepath.Dir(path), "build.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	cmd.Process.Release() // not waited for: it outlives this run
	return fmt.Sprintf("Jaeger is not needed before step 3, and its first build takes minutes: it is building now, in the\n"+
		"background, at low priority (it carries on after Ctrl-C). Progress: tail -f %s\n", log)
}

// building reports whether a build holds the lock of Jaeger's directory.
func building(path string) bool {
	f, err := os.Open(filepath.Join(filepath.Dir(path), ".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// buildProgress is the last progress line of a build log, shortened.
func buildProgress(log string) string {
	data, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	last := strings.TrimPrefix(lines[len(lines)-1], "jaeger: ")
	if last == "" {
		return "just started"
	}
	return last
}

// jaegerStatus is one line on the background build for the hints, or "".
func jaegerStatus(step topology.Step) string {
	if step.NeedsJaeger() {
		return ""
	}
	path, built, err := jaeger.Cached()
	switch {
	case err != nil || built:
		return ""
	case building(path):
		return fmt.Sprintf("Jaeger (for step 3): %s\n", buildProgress(jaeger.BuildLog(path)))
	}
	return ""
}

// hurryBuild gives a background build of Jaeger normal priority: step 3
// is waiting for it now. Only root may do that; for anyone else it stays
// low.
func hurryBuild() {
	path, built, err := jaeger.Cached()
	if err != nil || built {
		return
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "build.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
		syscall.Setpriority(syscall.PRIO_PGRP, pid, 0) // its session's group: go build and its compilers
	}
}

// buildNice is the background build's niceness.
const buildNice = 10

// buildJaegerMain is `tutorial build-jaeger`: the background build.
func buildJaegerMain() int {
	syscall.Setpriority(syscall.PRIO_PROCESS, 0, buildNice) // inherited by go build and the compilers
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
