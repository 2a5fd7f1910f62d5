package viewer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// chromium returns the path of a Chrome or Chromium, which
// scripts/install-chromium finds wherever this platform puts one (and
// installs, in CI or with INSTALL=1). Without one the test says NOT RUN,
// with the command that installs one; in CI that is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	path, said := e2e.Prerequisite(t, "install-chromium")
	if path == "" {
		e2e.NotRun(t, "the trace viewer's browser test needs Chrome or Chromium, and there is none.\n%s", said)
	}
	return path
}

// profileDir returns a browser profile directory of the test's own. A
// snap's chromium (Ubuntu's) may not write outside the user's home, so
// for it the directory is under $HOME, not in t.TempDir().
func profileDir(t *testing.T, browser string) string {
	t.Helper()
	if !snap(browser) {
		return t.TempDir()
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(home, ".tutorial-viewertest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// snap reports whether the browser at path is a snap: /snap/bin/chromium
// (a link to /usr/bin/snap), or Ubuntu's chromium-browser, which starts
// the snap.
func snap(path string) bool {
	if strings.HasPrefix(path, "/snap/") {
		return true
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil && filepath.Base(resolved) == "snap" {
		return true
	}
	_, err := os.Stat("/snap/bin/chromium")
	return filepath.Base(path) == "chromium-browser" && err == nil
}

// browser starts a headless chromium for the test, with a profile of its
// own, and returns a tab's context; the browser stops when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // as root, chromium refuses to start without it
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profileDir(t, path)),
		chromedp.WindowSize(1280, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Start the browser now, so that a chromium that cannot start says so
	// here and not in the middle of a check.
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Logf("chromium started in %s", time.Since(start).Round(time.Millisecond))
	return ctx
}

// do runs steps in the tab, failing the test after 30 s.
func do(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// get runs an action that reads something in the tab, and returns it.
func get[T any](t *testing.T, tab context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// A snap's browser (Ubuntu's chromium) gets its profile under $HOME, where
// a snap may write; any other, in the test's temporary directory.
func TestProfileDirOfASnap(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if dir := profileDir(t, "/snap/bin/chromium"); filepath.Dir(dir) != home {
		t.Errorf("the snap's profile is in %s, want it under %s", dir, home)
	}
	if dir := profileDir(t, "/usr/bin/chromium"); strings.HasPrefix(dir, home) {
		t.Errorf("a browser that is no snap has its profile in %s, under $HOME", dir)
	}
}
