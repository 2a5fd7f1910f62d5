package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// installers are the commands that install or start something on the
// system. Outside CI, and unless the learner asked (INSTALL=1), no script
// may call one.
var installers = []string{"apt-get", "brew", "sudo", "systemctl", "snap", "dnf", "dockerd"}

// missing are what the scripts look for, hidden from PATH: a laptop that
// has none of them, and no GNU timeout.
var missing = []string{"redis-server", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
	"docker", "dockerd", "timeout"}

// laptop is a machine as a script sees it: a PATH of the real tools but
// the missing ones, with stand-ins in front that record every call.
type laptop struct {
	t     *testing.T
	root  string
	stand string // the stand-ins' directory, first on PATH
	tools string // the real tools, but the missing ones
	calls string // the stand-ins' log
	home  string
	tmp   string // TMPDIR: what the scripts leave (a dockerd's log) stays the test's
	env   map[string]string
}

func newLaptop(t *testing.T) *laptop {
	t.Helper()
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l := &laptop{t: t, root: root, stand: filepath.Join(dir, "stand-ins"), tools: filepath.Join(dir, "tools"),
		calls: filepath.Join(dir, "calls.log"), home: filepath.Join(dir, "home"), tmp: filepath.Join(dir, "tmp"),
		env: map[string]string{}}
	for _, d := range []string{l.stand, l.tools, l.home, l.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range installers {
		l.standIn(name, `echo "$(basename "$0") $*" >>`+quote(l.calls))
	}
	hidden := map[string]bool{}
	for _, name := range append(missing, installers...) {
		hidden[name] = true
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			link := filepath.Join(l.tools, e.Name())
			if hidden[e.Name()] || exists(link) {
				continue
			}
			if err := os.Symlink(filepath.Join(d, e.Name()), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Go and the tutorial's cache as they are, though HOME is not.
	for _, name := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatal(err)
		}
		l.env[name] = strings.TrimSpace(string(out))
	}
	cache, err := paths.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	l.env["TUTORIAL_CACHE_DIR"] = cache
	return l
}

// standIn writes an executable name into the stand-ins' directory.
func (l *laptop) standIn(name, script string) {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.stand, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		l.t.Fatal(err)
	}
}

// macOS makes the laptop a Mac, to the scripts: uname says Darwin.
func (l *laptop) macOS() {
	l.standIn("uname", `case "$1" in -s|"") echo Darwin ;; *) echo unknown ;; esac`)
}

// debianHost skips a test whose expectations are Debian's (apt-get, no
// snap, no WSL2) on any other machine. CI's is Debian: there it runs.
func debianHost(t *testing.T) {
	t.Helper()
	release, _ := os.ReadFile("/etc/os-release")
	version, _ := os.ReadFile("/proc/version")
	if _, err := exec.LookPath("apt-get"); err != nil || runtime.GOOS != "linux" ||
		strings.Contains(string(release), "ID=ubuntu") || strings.Contains(strings.ToLower(string(version)), "microsoft") {
		t.Skip("expects what the scripts say on Debian: this machine is another")
	}
}

// run runs command (scripts/..., or a command such as make) with args in
// the tutorial's root, with only the laptop's environment and extra
// ("CI=true"), and returns its output and exit status.
func (l *laptop) run(extra []string, command string, args ...string) (string, int) {
	l.t.Helper()
	path := command
	if strings.HasPrefix(command, "scripts/") {
		path = filepath.Join(l.root, command)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = l.root
	cmd.Env = []string{"PATH=" + l.stand + string(filepath.ListSeparator) + l.tools, "HOME=" + l.home,
		"TMPDIR=" + l.tmp, "LANG=C"}
	for k, v := range l.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		l.t.Fatalf("%s: %v", command, err)
	}
	return out.String(), code
}

// called returns what the stand-ins recorded, one call a line.
func (l *laptop) called() string {
	data, err := os.ReadFile(l.calls)
	if err != nil && !os.IsNotExist(err) {
		l.t.Fatal(err)
	}
	return string(data)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func wantSaid(t *testing.T, what, output string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(output, w) {
			t.Errorf("%s does not say %q; it says:\n%s", what, w, output)
		}
	}
}

// TestInstallScriptsInstallNothing runs each install script on a laptop
// that has none of what they install: outside CI, and not asked to, they
// call no apt-get, brew, sudo or systemctl, print the command for the
// platform, and exit 0 (make test carries on; the tests that need the
// missing thing say NOT RUN).
func TestInstallScriptsInstallNothing(t *testing.T) {
	for _, tc := range []struct {
		platform string
		want     map[string]string // script: the command it prints
	}{
		{"Debian", map[string]string{
			"scripts/install-redis":    "sudo apt-get install -y redis-server",
			"scripts/install-chromium": "sudo apt-get install -y chromium",
			"scripts/install-docker":   "sudo apt-get install -y docker.io",
		}},
		{"macOS", map[string]string{
			"scripts/install-redis":    "brew install redis",
			"scripts/install-chromium": "brew install --cask google-chrome",
			"scripts/install-docker":   "brew install --cask docker",
		}},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			l := newLaptop(t)
			if tc.platform == "macOS" {
				l.macOS()
			} else {
				debianHost(t)
			}
			for script, want := range tc.want {
				out, code := l.run(nil, script)
				if code != 0 {
					t.Errorf("%s: exit %d, want 0 (make test goes on)\n%s", script, code, out)
				}
				wantSaid(t, script, out, want)
			}
			if calls := l.called(); calls != "" {
				t.Errorf("outside CI, not asked to, the install scripts called:\n%s", calls)
			}
		})
	}
}

// TestInstallScriptsInstallWhenAsked: with INSTALL=1 (make deps) or in CI,
// the same scripts do install, through the stand-ins (which proves that
// the stand-ins would have seen an install in TestInstallScriptsInstallNothing).
func TestInstallScriptsInstallWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		macOS     bool
		want      []string
	}{
		{"make deps", "INSTALL=1", false, []string{"apt-get install -y -qq redis-server", "apt-get install -y -qq chromium",
			"dockerd"}},
		{"CI", "CI=true", false, []string{"apt-get install -y -qq redis-server", "apt-get install -y -qq chromium",
			"dockerd"}},
		{"make deps on macOS", "INSTALL=1", true, []string{"brew install redis", "brew install --cask google-chrome"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLaptop(t)
			if tc.macOS {
				l.macOS()
			} else {
				debianHost(t)
			}
			// A docker (installed) whose engine answers once dockerd has
			// started.
			engine := filepath.Join(l.home, "engine")
			l.standIn("docker", "test -e "+quote(engine))
			l.standIn("dockerd", `echo "dockerd $*" >>`+quote(l.calls)+"; touch "+quote(engine))
			for _, script := range []string{"scripts/install-redis", "scripts/install-chromium", "scripts/install-docker"} {
				l.run([]string{tc.env}, script) // the stand-ins install nothing: the scripts may fail after
			}
			wantSaid(t, "the stand-ins' log", l.called(), tc.want...)
		})
	}
}

// TestChromeFoundInAnAppBundle: a Chrome in macOS's app bundle (here in
// ~/Applications) is found, and nothing is installed.
func TestChromeFoundInAnAppBundle(t *testing.T) {
	l := newLaptop(t)
	l.macOS()
	chrome := filepath.Join(l.home, "Applications", "Google Chrome.app", "Contents", "MacOS", "Google Chrome")
	if err := os.MkdirAll(filepath.Dir(chrome), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chrome, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code := l.run(nil, "scripts/install-chromium")
	if code != 0 || strings.TrimSpace(out) != chrome {
		t.Errorf("install-chromium: exit %d, said %q; want exit 0 and %q", code, out, chrome)
	}
	if calls := l.called(); calls != "" {
		t.Errorf("install-chromium called:\n%s", calls)
	}
}

// TestSetupSaysGoIsTooOld: a distribution's Go (Ubuntu 22.04's 1.18)
// gets a message that says where Go 1.26 comes from.
func TestSetupSaysGoIsTooOld(t *testing.T) {
	debianHost(t)
	l := newLaptop(t)
	l.standIn("go", `echo "go version go1.18.1 linux/amd64"`)
	out, code := l.run(nil, "make", "setup")
	if code == 0 {
		t.Errorf("make setup with Go 1.18: exit 0\n%s", out)
	}
	wantSaid(t, "make setup", out, "Go 1.26 or later (this is go1.18.1", "https://go.dev/dl/", "Ubuntu 22.04 ships Go 1.18", "NOT READY")
	if calls := l.called(); calls != "" {
		t.Errorf("make setup called:\n%s", calls)
	}
}

// TestSetupInstallsNothing runs make setup on a laptop without
// redis-server (nor Docker, nor a browser): it installs nothing, prints
// the command that installs redis-server, still proves step 3 with a
// trace read back from Jaeger, and exits non-zero, listing what is missing.
func TestSetupInstallsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every step and runs step 3 with Jaeger")
	}
	// The first build of Jaeger takes minutes, and is not make setup's
	// to wait for here.
	if _, err := jaeger.Binary(t.Context(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	debianHost(t)
	l := newLaptop(t)
	start := time.Now()
	out, code := l.run(nil, "make", "setup")
	t.Logf("make setup took %s:\n%s", time.Since(start).Round(time.Second), out)
	if code == 0 {
		t.Errorf("make setup without redis-server: exit 0")
	}
	wantSaid(t, "make setup", out, "installs nothing", "MISSING  redis-server", "sudo apt-get install -y redis-server",
		"ok       Go", "ok       every step builds", "ok       step 3: its trace, read back from Jaeger, is as the lesson promises (", "Step 7: NOT RUN, without redis-server",
		"NOT READY (make setup took ", "  - redis-server (steps 6 to 9 need it): sudo apt-get install -y redis-server")
	if calls := l.called(); calls != "" {
		t.Errorf("make setup called:\n%s", calls)
	}
}

// TestScriptsWithMacOSTools runs the scripts with macOS's stock tools, as
// far as they differ: no GNU timeout, and a sed that takes no -i (BSD
// sed's -i wants an argument, which GNU's would take for a file).
func TestScriptsWithMacOSTools(t *testing.T) {
	l := newLaptop(t)
	realSed, err := exec.LookPath("sed")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(l.tools, "sed"))
	l.standIn("sed", `for a in "$@"; do case $a in -i*) echo "sed: -i refused (as macOS's would misread it)" >&2; exit 2 ;; esac; done
exec `+quote(realSed)+` "$@"`)

	t.Run("diff-steps", func(t *testing.T) {
		out, code := l.run(nil, "scripts/diff-steps", "6", "7")
		if code != 0 {
			t.Fatalf("diff-steps 6 7: exit %d\n%s", code, out)
		}
		wantSaid(t, "diff-steps 6 7", out, "+++ step7-distributed-multi-span/")
		// Step 6's imports of its own packages are rewritten to step 7's:
		// lines that differ only by the step's folder are no lesson.
		if strings.Contains(out, "tutorial/step6-distributed-single-span/") {
			t.Errorf("diff-steps 6 7 shows step 6's import paths:\n%s", out)
		}
	})
	t.Run("within", func(t *testing.T) {
		start := time.Now()
		out, code := l.run(nil, "bash", "-c", `. scripts/platform.sh; within 1 sleep 60; echo "status $?"`)
		if code != 0 || !strings.Contains(out, "status 143") {
			t.Errorf("within 1 sleep 60: exit %d, %q; want status 143 (stopped)", code, out)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("within 1 sleep 60 took %s", took)
		}
	})
	t.Run("install-docker", func(t *testing.T) {
		l.standIn("docker", "exit 0") // an engine that answers
		out, code := l.run(nil, "scripts/install-docker")
		if code != 0 || out != "" {
			t.Errorf("install-docker with an engine that answers: exit %d\n%s", code, out)
		}
		if calls := l.called(); calls != "" {
			t.Errorf("install-docker with an engine that answers called:\n%s", calls)
		}
	})
	t.Run("fuzz", func(t *testing.T) {
		// A go that records what it runs stands for the fuzzing itself,
		// which is too slow for this test.
		ran := filepath.Join(l.tmp, "go.log")
		l.standIn("go", `echo "go $*" >>`+quote(ran))
		defer os.Remove(filepath.Join(l.stand, "go"))
		out, code := l.run([]string{"FUZZTIME=10x"}, "scripts/fuzz", "FuzzDecode")
		if code != 0 {
			t.Errorf("scripts/fuzz FuzzDecode: exit %d\n%s", code, out)
		}
		data, _ := os.ReadFile(ran)
		if want := "go test -run ^$ -fuzz ^FuzzDecode$ -fuzztime 10x ./internal/steplib/jobqueue\n"; string(data) != want {
			t.Errorf("scripts/fuzz FuzzDecode ran %q, want %q", data, want)
		}
	})
}

// TestWithoutRedisTestsSayNotRun: without redis-server, a test that needs
// it says NOT RUN and how to install it, and installs nothing; in CI
// (CI=true) it fails instead.
func TestWithoutRedisTestsSayNotRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds internal/testkit/e2e's tests")
	}
	debianHost(t)
	l := newLaptop(t)
	test := []string{"test", "-count=1", "-v", "-run", "^TestRedisTriesAnotherPort$", "./internal/testkit/e2e"}
	notRun := filepath.Join(l.tmp, "not-run")
	out, code := l.run([]string{"TUTORIAL_NOT_RUN=" + notRun}, "go", test...)
	if code != 0 {
		t.Errorf("go test without redis-server, outside CI: exit %d", code)
	}
	// make test lists it at the end.
	if data, _ := os.ReadFile(notRun); !strings.HasPrefix(string(data), "./internal/testkit/e2e TestRedisTriesAnotherPort: NOT RUN: this test needs redis-server") {
		t.Errorf("TUTORIAL_NOT_RUN has %q", data)
	}
	wantSaid(t, "go test without redis-server", out, "--- SKIP: TestRedisTriesAnotherPort",
		"NOT RUN: this test needs redis-server", "sudo apt-get install -y redis-server")
	if calls := l.called(); calls != "" {
		t.Errorf("outside CI, the test called:\n%s", calls)
	}

	out, code = l.run([]string{"CI=true"}, "go", test...)
	if code == 0 || !strings.Contains(out, "--- FAIL: TestRedisTriesAnotherPort") || !strings.Contains(out, "CI=true: in CI every test must run") {
		t.Errorf("go test without redis-server, in CI: exit %d, want a failure\n%s", code, out)
	}
}
