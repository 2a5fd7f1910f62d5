package main

// End-to-end: the real program, built from this directory, reports to a
// real Jaeger, and its traces are read back from Jaeger's query API and
// held to step 3's lesson (internal/lesson), as make check holds a
// learner's exercise to it.

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

func TestLesson(t *testing.T) { stepsuite.Test(t, 3, ".") }

// TestMonolith: the BAD_THINGS switch; spans flushed on shutdown, Jaeger
// down, a client's broken trace header.
func TestMonolith(t *testing.T) { stepsuite.TestMonolith(t, 3, ".") }
