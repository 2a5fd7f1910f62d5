package main

// End-to-end: the real program, built from this directory, against the
// stand-in GitHub.

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// TestMonolith: the BAD_THINGS switch, in the real program.
func TestMonolith(t *testing.T) { stepsuite.TestMonolith(t, 2, ".") }
