package jaeger

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
)

// Steps 1 and 2 need no Jaeger, and a learner spends minutes on them. So
// their `make run` starts building Jaeger in the background, and step 3
// finds it built (or waits for the rest of the build, not the whole of
// it).
//
// The build is a process of its own: in a session of its own, so a Ctrl-C
// in the terminal does not reach it and it outlives the run that started
// it; at low priority (BackgroundNice), so the step's programs and the
// learner's other work come first, while a machine that is busy with
// something else (a video call) still lets it move on, as nice 19 would
// not. It writes its progress to a log beside the binary (BuildLog); the
// runner says where, and says again how far it got when it prints its
// hints.

// BackgroundNice is the background build's niceness: the build command
// sets it on itself, and go build and the compilers inherit it.
const BackgroundNice = 10

// BuildInBackground starts the build command that command gives (the
// runner's `tutorial build-jaeger`) unless Jaeger is built or being built,
// or the learner has a Jaeger of their own, and returns what to tell the
// learner ("" for nothing).
func BuildInBackground(command func() (*exec.Cmd, error)) string {
	path, built, err := Cached()
	if err != nil || built {
		return ""
	}
	// A Jaeger of the learner's own needs no build.
	if _, own, err := Own(context.Background()); own || err != nil {
		return ""
	}
	log := BuildLog(path)
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
	cmd, err := command()
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

// BackgroundProgress is how far a build in the background got, its log's
// last progress line, or "" when none runs.
func BackgroundProgress() string {
	path, built, err := Cached()
	if err != nil || built || !building(path) {
		return ""
	}
	return buildProgress(BuildLog(path))
}

// HurryBackgroundBuild gives a build in the background normal priority:
// step 3 is waiting for it now. Only root may do that; for anyone else it
// stays low.
func HurryBackgroundBuild() {
	path, built, err := Cached()
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
