package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// NotRun stops a test that cannot run on this machine because something it
// needs is missing (redis-server, a browser, Docker). Outside CI the test
// skips, saying NOT RUN and why: a learner's `make test` installs nothing
// behind their back. In CI (CI=true), where every test must run, it fails.
//
// With TUTORIAL_NOT_RUN set (make test sets it), it also adds a line to
// that file, which make test shows at its end: go test shows no skips of a
// package that passes.
func NotRun(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "NOT RUN: " + fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "\n(CI=true: in CI every test must run)")
	}
	if file := os.Getenv("TUTORIAL_NOT_RUN"); file != "" {
		record(file, t.Name(), msg)
	}
	t.Skip(msg)
}

// record adds "package Test: the first line of msg" to file.
func record(file, test, msg string) {
	pkg, _ := os.Getwd() // go test runs a package's tests in its directory
	if root, err := paths.Root(pkg); err == nil {
		if rel, err := filepath.Rel(root, pkg); err == nil {
			pkg = "./" + filepath.ToSlash(rel)
		}
	}
	first, _, _ := strings.Cut(msg, "\n")
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return // only a report
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s: %s\n", pkg, test, first)
}

// Prerequisite runs scripts/<script> (install-redis, install-chromium),
// which finds what a test needs, installs it in CI or when asked
// (INSTALL=1), and otherwise says how to install it. It returns what the
// script printed on stdout and on stderr.
func Prerequisite(t testing.TB, script string) (stdout, stderr string) {
	t.Helper()
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "scripts", script))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(&errOut, "scripts/%s: %v\n", script, err)
	}
	return strings.TrimSpace(out.String()), strings.TrimSpace(errOut.String())
}

// RedisServerPath returns the path of redis-server. Without one, the test
// says NOT RUN, with the command that installs it on this platform (in CI
// scripts/install-redis installs it, and a failure to is the test's).
func RedisServerPath(t testing.TB) string {
	t.Helper()
	if path, err := exec.LookPath("redis-server"); err == nil {
		return path
	}
	_, said := Prerequisite(t, "install-redis")
	if path, err := exec.LookPath("redis-server"); err == nil {
		return path
	}
	NotRun(t, "this test needs redis-server, which is not installed.\n%s", said)
	return ""
}
