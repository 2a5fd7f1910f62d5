package jaeger

import (
	"context"
	"fmt"
	"time"
)

// The traces CheckSampling sends: how many of each, and how long a slow
// one lasts (over step 12's threshold of 1 s, and any threshold a learner
// may choose up to 5 s).
const (
	checkFailed, checkSlow, checkNormal = 10, 10, 100
	checkSlowFor                        = 6 * time.Second
)

// CheckSampling holds the roles' configuration in dir (storage.yaml,
// collector.yaml, query.yaml; strategies.json if the collector serves
// it) to step 12's promise, on
// Jaeger's own processes: the collector's tail sampler keeps every failed
// trace and every slow one, and drops most of the rest. It returns the
// promises broken, in a learner's words; err is for what kept the check
// from running.
func CheckSampling(ctx context.Context, binary, dir string) (problems []string, err error) {
	roles, problems := startChecked(ctx, binary, dir)
	if problems != nil {
		return problems, nil
	}
	defer roles.Stop()
	client := roles.Client()

	failed, err := postTraces(ctx, roles.OTLPEndpoint, checkFailed, 20*time.Millisecond, true)
	if err != nil {
		return []string{fmt.Sprintf("the collector refuses spans over OTLP/HTTP: %v", err)}, nil
	}
	slow, err := postTraces(ctx, roles.OTLPEndpoint, checkSlow, checkSlowFor, false)
	if err != nil {
		return []string{fmt.Sprintf("the collector refuses spans over OTLP/HTTP: %v", err)}, nil
	}
	normal, err := postTraces(ctx, roles.OTLPEndpoint, checkNormal, 20*time.Millisecond, false)
	if err != nil {
		return []string{fmt.Sprintf("the collector refuses spans over OTLP/HTTP: %v", err)}, nil
	}

	// The tail sampler decides decision_wait after a trace's first span:
	// 5 s in step 12, 30 s at most here.
	const within = 40 * time.Second
	if missing := waitForAll(ctx, client, failed, within); missing > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d traces with a span whose status is Error are not kept: the collector's tail_sampling needs a status_code policy for ERROR (and tail_sampling in its traces pipeline)", missing, checkFailed))
	}
	if missing := waitForAll(ctx, client, slow, within); missing > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d traces lasting %s are not kept: the collector's tail_sampling needs a latency policy (threshold_ms: 1000)", missing, checkSlow, checkSlowFor))
	}
	// The ordinary traces were decided with the others: a moment more
	// for the last of them to be written.
	time.Sleep(2 * time.Second)
	kept := 0
	for _, id := range normal {
		if _, err := client.Trace(ctx, id); err == nil {
			kept++
		}
	}
	if kept > checkNormal/2 {
		problems = append(problems, fmt.Sprintf("the collector keeps %d of %d ordinary traces (neither failed nor slow): tail sampling keeps about a tenth of them (a probabilistic policy, sampling_percentage: 10) and drops the rest", kept, checkNormal))
	}
	return problems, nil
}

// CheckStep holds the role configs in dir to step n's promise: step 11's
// (CheckRoles) or, from step 12, sampling's (CheckSampling).
func CheckStep(ctx context.Context, binary string, n int, dir string) (problems []string, err error) {
	if n >= 12 {
		return CheckSampling(ctx, binary, dir)
	}
	return CheckRoles(ctx, binary, dir)
}
