// Package viewertest tests the tutorial's trace viewer (internal/jaeger/ui)
// in a real browser: Debian's chromium, headless, driven by chromedp,
// looking at real step-7 traces in the Jaeger the tutorial builds.
//
// The test installs chromium with scripts/install-chromium when it is
// missing. Outside CI it skips if that fails; in CI (CI=true) it fails.
//
//	go test ./internal/viewertest
//	VIEWER_SCREENSHOT=$PWD/docs/img/step7-trace.png go test ./internal/viewertest -run Screenshot
package viewertest
