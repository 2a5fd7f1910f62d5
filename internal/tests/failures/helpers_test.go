package failures

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// Where step 7's gateway queues jobs: jobqueue.New(…, "contributors").
const (
	jobsStream  = "contributors:jobs"
	deadLetters = "contributors:dead-letter"
	answers     = "contributors:answer:"
)

// start runs step n's own programs, as stepsuite.Start does.
func start(t *testing.T, n int, opts stepsuite.Options) *stepsuite.Stack {
	t.Helper()
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	step, err := topology.Find(n)
	if err != nil {
		t.Fatal(err)
	}
	s, problems := stepsuite.Start(t, n, filepath.Join(root, step.Dir), opts)
	if problems != nil {
		t.Fatal(strings.Join(problems, "\n"))
	}
	return s
}

// forSteps runs row for each of steps as a parallel subtest.
func forSteps(t *testing.T, steps []int, row func(t *testing.T, n int)) {
	for _, n := range steps {
		t.Run(fmt.Sprintf("step%d", n), func(t *testing.T) {
			t.Parallel()
			row(t, n)
		})
	}
}

// answer is what a request got.
type answer struct {
	status int
	header http.Header
	error  string // the JSON error, "" for none
	took   time.Duration
}

var client = &http.Client{Timeout: 40 * time.Second}

// call sends GET url with header and fails t unless the answer is JSON.
func call(t *testing.T, url string, header http.Header) answer {
	t.Helper()
	a, err := tryCall(url, header)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryCall is call for goroutines other than the test's.
func tryCall(url string, header http.Header) (answer, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return a, fmt.Errorf("GET %s: %d, body is not JSON: %v", url, resp.StatusCode, err)
	}
	a.error, a.took = body.Error, time.Since(began)
	return a, nil
}

// wantError checks a is status with a JSON error that says says, within
// the stated bound (0: no bound).
func wantError(t *testing.T, a answer, status int, says string, within time.Duration) {
	t.Helper()
	if a.status != status || !strings.Contains(strings.ToLower(a.error), strings.ToLower(says)) {
		t.Errorf("answer %d %q, want %d with an error that says %q", a.status, a.error, status, says)
	}
	if within > 0 && a.took > within {
		t.Errorf("answered after %s, want within %s", a.took.Round(time.Millisecond), within)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if a.header.Get("Retry-After") == "" {
			t.Errorf("a %d without Retry-After", status)
		}
	}
}

// wantOK checks that a request for a repository of the stand-in succeeds.
func wantOK(t *testing.T, s *stepsuite.Stack, repo string) answer {
	t.Helper()
	a := call(t, s.URL+"/git/"+repo, nil)
	if a.status != http.StatusOK {
		t.Errorf("GET /git/%s = %d %q, want 200", repo, a.status, a.error)
	}
	return a
}

// alive fails t for each program of s that has exited (but those the
// test stopped itself): none may crash.
func alive(t *testing.T, s *stepsuite.Stack, stopped ...string) {
	t.Helper()
	for name, p := range s.Programs {
		if slices.Contains(stopped, name) {
			continue
		}
		select {
		case <-p.Exited():
			t.Errorf("%s exited:\n%s", name, p.Output())
		default:
		}
	}
}

// redisOf is a client to step 7's Redis, to look into the queue.
func redisOf(t *testing.T, s *stepsuite.Stack) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// queueDone waits until no job is waiting or in hand (each was answered,
// dropped with a log line, or moved to the dead letters), and returns the
// dead letters.
func queueDone(t *testing.T, rdb *redis.Client) []redis.XMessage {
	t.Helper()
	ctx := context.Background()
	var n int64
	eventually(t, 15*time.Second, func() bool {
		var err error
		n, err = rdb.XLen(ctx, jobsStream).Result()
		return err == nil && n == 0
	}, func() string { return fmt.Sprintf("%d jobs still on %s", n, jobsStream) })
	dead, err := rdb.XRange(ctx, deadLetters, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", deadLetters, err)
	}
	return dead
}

// noDeadLetters checks that the queue is done with and nothing died.
func noDeadLetters(t *testing.T, rdb *redis.Client) {
	t.Helper()
	if dead := queueDone(t, rdb); len(dead) > 0 {
		t.Errorf("dead letters: %v", dead)
	}
}

// eventually polls cond every 50 ms for up to timeout; then fails t with
// what().
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what())
		}
	}
}

// marked waits for the trace traceID in j to hold service's span
// operation with error=true and a log that mentions cause, and returns the
// trace.
func marked(t *testing.T, j *jaeger.Instance, traceID, service, operation, cause string) jaeger.Trace {
	t.Helper()
	return wantSpan(t, j, traceID, service, operation, func(s jaeger.Span) bool {
		errTag, _ := s.Tag("error")
		return errTag == true && hasLog(s, cause)
	}, fmt.Sprintf("error=true and a log that mentions %q", cause))
}

// wantSpan waits for the trace traceID to hold service's span operation
// that ok accepts (what says what ok wants), and returns the trace.
func wantSpan(t *testing.T, j *jaeger.Instance, traceID, service, operation string, ok func(jaeger.Span) bool, what string) jaeger.Trace {
	t.Helper()
	if traceID == "" {
		t.Fatal("the answer has no X-Trace-Id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := j.Client().WaitForTrace(ctx, traceID, func(trace jaeger.Trace) bool {
		_, found := findSpan(trace, service, operation, ok)
		return found
	})
	if err != nil {
		t.Fatalf("no %s span %q with %s in trace %s: %v\nthe trace's spans: %s", service, operation, what, traceID, err, describe(trace))
	}
	return trace
}

func findSpan(trace jaeger.Trace, service, operation string, ok func(jaeger.Span) bool) (jaeger.Span, bool) {
	for _, s := range trace.Spans {
		if s.OperationName == operation && trace.ServiceName(s) == service && (ok == nil || ok(s)) {
			return s, true
		}
	}
	return jaeger.Span{}, false
}

// hasLog reports whether a log field of s mentions text (in any case).
func hasLog(s jaeger.Span, text string) bool {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if strings.Contains(strings.ToLower(fmt.Sprint(f.Value)), strings.ToLower(text)) {
				return true
			}
		}
	}
	return false
}

// describe lists a trace's spans with their tags and logs, for a failure.
func describe(trace jaeger.Trace) string {
	var b strings.Builder
	for _, s := range trace.Spans {
		fmt.Fprintf(&b, "\n  %s: %s tags=%v logs=%v", trace.ServiceName(s), s.OperationName, s.Tags, s.Logs)
	}
	return b.String()
}

// jobInHand asks s for torvalds/linux, which a cleaner with BAD_THINGS on
// takes 2 s to clean, and returns once the cleaner has the job in hand;
// the answer comes on the channel.
func jobInHand(t *testing.T, s *stepsuite.Stack, rdb *redis.Client) <-chan answer {
	t.Helper()
	done := make(chan answer, 1)
	go func() {
		a, err := tryCall(s.URL+"/git/torvalds/linux", nil)
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	eventually(t, 10*time.Second, func() bool {
		pending, err := rdb.XPending(context.Background(), jobsStream, "contributors:workers").Result()
		return err == nil && pending.Count == 1
	}, func() string { return "the cleaner never took the job" })
	return done
}
