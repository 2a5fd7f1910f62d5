package main

// End-to-end: the step's three programs as real processes, with a real
// Redis, a real Jaeger and the stand-in GitHub, held to what every
// distributed step promises and to step 6's lesson (internal/lesson): one
// span, the gateway's; the contributors service and the cleaner report
// nothing to Jaeger.

import (
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(stepsuite.Main(m)) }

func TestE2E(t *testing.T) {
	t.Parallel()
	stepsuite.TestDistributed(t, 6, "..", stepsuite.Distributed{})
}
