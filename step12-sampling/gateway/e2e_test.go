package main

// The gateway's tests with a real Redis (e2e.Main starts what they need).
// Step 12's programs are step 11's with another sampler: its lesson,
// sampling, is measured end to end in internal/infra/jaeger
// (TestSamplingExperiment).

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(stepsuite.Main(m)) }
