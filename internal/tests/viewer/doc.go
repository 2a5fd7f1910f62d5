// Package viewertest tests the tutorial's trace viewer (internal/infra/jaeger/ui)
// in a real browser: Chrome or Chromium, headless, driven by chromedp,
// looking at real step-7 traces in the Jaeger the tutorial builds.
//
// scripts/install-chromium finds the browser (and installs one in CI, or
// with INSTALL=1). Without one the test says NOT RUN, with the command that
// installs one; in CI (CI=true) that is a failure.
//
//	go test ./internal/tests/viewer
//	VIEWER_SCREENSHOT=$PWD/docs/img/step7-trace.png go test ./internal/tests/viewer -run Screenshot
package viewer
