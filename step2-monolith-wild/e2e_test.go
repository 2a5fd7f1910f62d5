package main

// End-to-end: the real program, built from this directory, against the
// stand-in GitHub.

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// startProgram runs this step's program against the stand-in GitHub, with
// env added, and returns it and its base URL.
func startProgram(t *testing.T, env map[string]string) (*e2e.Process, string) {
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	return startProgramOn(t, githubURL, env)
}

// startProgramOn is startProgram against the GitHub at githubURL.
func startProgramOn(t *testing.T, githubURL string, env map[string]string) (*e2e.Process, string) {
	port := e2e.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	full := map[string]string{
		"HOST": "127.0.0.1", "PORT": fmt.Sprint(port), "GITHUB_API_URL": githubURL,
		"BAD_THINGS": "off",
	}
	for k, v := range env {
		full[k] = v
	}
	program := e2e.Start(t, "step2", e2e.Build(t, "."), full)
	program.WaitHealthy(t, base+"/healthz")
	return program, base
}

// TestBadThingsSwitch: in the real program, wild.go's misbehaviour is on
// by default (a big repository takes its 2 s rebuild of the login index),
// and BAD_THINGS=off switches it off.
func TestBadThingsSwitch(t *testing.T) {
	for _, c := range []struct {
		name, value string
		slow        bool
	}{
		// Empty, as os.Getenv sees unset; it also overrides a BAD_THINGS
		// that go test itself may run with.
		{"unset", "", true},
		{"off", "off", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, base := startProgram(t, map[string]string{"BAD_THINGS": c.value})
			took, err := timedGet(base + "/git/torvalds/linux")
			switch {
			case err != nil:
				t.Fatal(err)
			case c.slow && took < 2*time.Second:
				t.Errorf("BAD_THINGS=%q: torvalds/linux took %v, want at least 2s (the misbehaviour on)", c.value, took)
			case !c.slow && took >= time.Second:
				t.Errorf("BAD_THINGS=%q: torvalds/linux took %v, want well under 2s (the misbehaviour off)", c.value, took)
			}
		})
	}
}
