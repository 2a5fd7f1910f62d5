package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Image is the Jaeger image that JAEGER=docker runs: the release that the
// source build's module version (v1.75.0) is.
const Image = "jaegertracing/jaeger:2.12.0"

// Found is the Jaeger that the runner uses, and what it says about it.
type Found struct {
	Binary string // the program; with Docker, "docker"
	Docker bool   // Image, run through Docker
	// From says where it was found, for the learner: "JAEGER_BINARY",
	// "PATH", "JAEGER=docker" or "the source build".
	From string
	// OwnUI: it serves Jaeger's own web UI (a release has one). A source
	// build has none, and serves the tutorial's trace viewer instead.
	OwnUI bool
	// Skipped says why a jaeger on PATH was not used, or is "".
	Skipped string
}

// Find returns the Jaeger to run, looking in this order:
//
//  1. JAEGER_BINARY, the learner's own;
//  2. a jaeger on PATH that is Jaeger v2, 2.12.0 or a later 2.x (the
//     official release, say), or a link to the source build;
//  3. with JAEGER=docker, Image through Docker (pulled first);
//  4. the source build (Binary), built first if no run has built it.
func Find(ctx context.Context, progress io.Writer) (Found, error) {
	found, ok, err := Own(ctx)
	if err != nil {
		return Found{}, err
	}
	if ok && found.Docker {
		return found, pull(ctx, progress)
	}
	if ok {
		return found, nil
	}
	path, err := Binary(ctx, progress)
	if err != nil {
		return Found{}, err
	}
	return Found{Binary: path, From: "the source build", Skipped: found.Skipped}, nil
}

// ForChecks returns the Jaeger that make check and the end-to-end tests
// run: JAEGER_BINARY when it is set (the learner's own, which make run also
// uses first; the dev container's image sets it to the release it holds),
// or else the source build (Binary), built first if no run has built it.
// Unlike Find, it passes over a jaeger on PATH and JAEGER=docker: a check
// needs a program it can start on a port of its choosing, of the release
// it was written for.
func ForChecks(ctx context.Context, progress io.Writer) (string, error) {
	if path := os.Getenv("JAEGER_BINARY"); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("JAEGER_BINARY: %w", err)
		}
		return path, nil
	}
	return Binary(ctx, progress)
}

// Own returns the learner's own Jaeger, the first three places of Find's
// order, and whether there is one: if not, Find builds from source (and
// Found.Skipped may say why a jaeger on PATH was passed over).
func Own(ctx context.Context) (Found, bool, error) {
	if path := os.Getenv("JAEGER_BINARY"); path != "" {
		if _, err := os.Stat(path); err != nil {
			return Found{}, false, fmt.Errorf("JAEGER_BINARY: %w", err)
		}
		return Found{Binary: path, From: "JAEGER_BINARY", OwnUI: hasOwnUI(ctx, path)}, true, nil
	}
	var skipped string
	if path, err := exec.LookPath("jaeger"); err == nil {
		ok, why := usable(ctx, path)
		if ok {
			return Found{Binary: path, From: "PATH", OwnUI: hasOwnUI(ctx, path)}, true, nil
		}
		skipped = fmt.Sprintf("the jaeger on PATH (%s) is not used: %s", path, why)
	}
	if os.Getenv("JAEGER") == "docker" {
		if _, err := exec.LookPath("docker"); err != nil {
			return Found{}, false, errors.New("JAEGER=docker, but there is no docker command: install Docker, or leave JAEGER unset for the source build")
		}
		return Found{Binary: "docker", Docker: true, From: "JAEGER=docker", OwnUI: true, Skipped: skipped}, true, nil
	}
	return Found{Skipped: skipped}, false, nil
}

// pull pulls Image unless Docker has it, showing docker's progress: on a
// meetup's Wi-Fi that can take longer than Jaeger may take to start.
func pull(ctx context.Context, progress io.Writer) error {
	if exec.CommandContext(ctx, "docker", "image", "inspect", Image).Run() == nil {
		return nil
	}
	fmt.Fprintf(progress, "jaeger: pulling %s (first run only)\n", Image)
	cmd := exec.CommandContext(ctx, "docker", "pull", Image)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("JAEGER=docker: docker pull %s: %w (leave JAEGER unset for the source build)", Image, err)
	}
	return nil
}

// Describe says which Jaeger this is, for the learner.
func (f Found) Describe() string {
	switch {
	case f.Docker:
		return fmt.Sprintf("Jaeger %s through Docker (JAEGER=docker)", Image)
	case f.From == "the source build":
		return "Jaeger 2.12.0, built from source (" + f.Binary + ")"
	default:
		return fmt.Sprintf("Jaeger %s (from %s)", f.Binary, f.From)
	}
}

// usable reports whether the jaeger at path is one the tutorial runs: the
// source build (a link to it, say), or a release of Jaeger v2, 2.12.0 or
// later; why not, if not.
func usable(ctx context.Context, path string) (bool, string) {
	if cached, built, err := Cached(); err == nil && built && sameFile(path, cached) {
		return true, ""
	}
	v := version(ctx, path)
	if v == "" {
		return false, "it does not say its version (jaeger version); the tutorial needs Jaeger v2, 2.12.0 or later"
	}
	if !compatible(v) {
		return false, fmt.Sprintf("it is %s; the tutorial needs Jaeger v2, 2.12.0 or later", v)
	}
	return true, ""
}

// compatible reports whether a Jaeger version (v2.12.0) is 2.12.0 or a
// later 2.x, whose configuration the tutorial's is.
func compatible(v string) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && major == 2 && minor >= 12
}

// hasOwnUI reports whether the jaeger at path is a release, which has its
// own web UI; a source build says no version, and has none.
func hasOwnUI(ctx context.Context, path string) bool {
	return version(ctx, path) != ""
}

// version is what `jaeger version` says its version is ("v2.12.0"), or ""
// (a source build says none).
func version(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return ""
	}
	// Its JSON is the first line that starts with "{"; log lines come too.
	for line := range strings.Lines(string(out)) {
		var v struct {
			GitVersion string `json:"gitVersion"`
		}
		if i := strings.Index(line, "{"); i >= 0 && json.NewDecoder(strings.NewReader(line[i:])).Decode(&v) == nil {
			return v.GitVersion
		}
	}
	return ""
}

func sameFile(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return false
	}
	sa, err1 := os.Stat(ra)
	sb, err2 := os.Stat(rb)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
