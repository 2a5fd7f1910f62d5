package failures

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// TestRedisStoppedThenRestarted: with Redis down, the gateway answers 503
// at once (within 2 s) and says to try again; its queue.Push span has
// error=true and logs the refused connection. A request that was waiting
// for its answer when Redis went down (its job gone with Redis) is told
// too, within 3 s, not left to wait for its timeout. Once Redis is back
// (empty), requests succeed again, no program restarted but the cleaner
// that the test had stopped.
func TestRedisStoppedThenRestarted(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	wantOK(t, s, "golang/go")
	cleaner := s.Programs["cleaner"]
	if err := cleaner.Stop(); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan answer, 1)
	go func() {
		a, err := tryCall(s.URL+"/git/golang/go", nil)
		if err != nil {
			t.Error(err)
		}
		waiting <- a
	}()
	rdb := redisOf(t, s)
	eventually(t, 10*time.Second, func() bool {
		n, err := rdb.XLen(context.Background(), jobsStream).Result()
		return err == nil && n == 1
	}, func() string { return "the job was not queued" })
	stopped := time.Now()
	if err := s.Redis.Stop(); err != nil {
		t.Fatal(err)
	}
	a := <-waiting
	wantError(t, a, http.StatusServiceUnavailable, "Redis", 0)
	if took := time.Since(stopped); took > 3*time.Second {
		t.Errorf("the waiting request was answered %s after Redis stopped, want within 3 s", took.Round(time.Millisecond))
	}
	marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "queue.WaitForReply", "")

	a = call(t, s.URL+"/git/golang/go", nil)
	wantError(t, a, http.StatusServiceUnavailable, "Redis", 2*time.Second)
	marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "queue.Push", "connection refused")
	alive(t, s, "cleaner")

	s.Redis.Restart(t)
	cleaner.Restart(t)
	var last answer
	eventually(t, 15*time.Second, func() bool {
		last = call(t, s.URL+"/git/golang/go", nil)
		return last.status == http.StatusOK
	}, func() string { return "still " + last.error })
	alive(t, s)
	noDeadLetters(t, rdb)
}

// TestRedisHung: a Redis that hangs (SIGSTOP: connections open, no
// answers) gets the client a 503 within 3 s, not a request that hangs
// with it; the queue.Push span has error=true and logs the timeout. Once
// Redis goes on, so do requests.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	wantOK(t, s, "golang/go")
	s.Redis.Pause(t)
	a := call(t, s.URL+"/git/golang/go", nil)
	wantError(t, a, http.StatusServiceUnavailable, "Redis", 3*time.Second)
	marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "queue.Push", "timeout")
	alive(t, s)

	s.Redis.Resume(t)
	var last answer
	eventually(t, 15*time.Second, func() bool {
		last = call(t, s.URL+"/git/golang/go", nil)
		return last.status == http.StatusOK
	}, func() string { return "still " + last.error })
	alive(t, s)
	noDeadLetters(t, redisOf(t, s))
}

// TestCleanerStopped: with no cleaner, the job waits in the queue and the
// client gets a 504 once REPLY_TIMEOUT is over; queue.WaitForReply has
// error=true and a log that no answer came. The job is not lost silently:
// the cleaner, started again, drops it with a log line, its client gone.
func TestCleanerStopped(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{ProgramEnv: map[string]map[string]string{"gateway": {"REPLY_TIMEOUT": "2s"}}})
	cleaner := s.Programs["cleaner"]
	if err := cleaner.Stop(); err != nil {
		t.Fatal(err)
	}
	a := call(t, s.URL+"/git/golang/go", nil)
	wantError(t, a, http.StatusGatewayTimeout, "cleaner did not answer", 3*time.Second)
	marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "queue.WaitForReply", "no answer before the job's deadline")
	rdb := redisOf(t, s)
	if n, err := rdb.XLen(context.Background(), jobsStream).Result(); err != nil || n != 1 {
		t.Errorf("%d jobs queued (%v), want the one waiting", n, err)
	}

	cleaner.Restart(t)
	noDeadLetters(t, rdb)
	if !strings.Contains(cleaner.Output(), "dropped a job whose client stopped waiting") {
		t.Errorf("the cleaner did not log the job it dropped:\n%s", cleaner.Output())
	}
	wantOK(t, s, "golang/go")
	alive(t, s)
}

// TestCleanerKilledMidJob: a cleaner killed in the middle of a job (with
// BAD_THINGS on, a big repository takes 2 s) and started again takes the
// job over once it has sat idle for 5 s, and the client gets its 200.
// The trace shows the wait: cleanJob starts 5 s or more after queue.Push.
func TestCleanerKilledMidJob(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{ProgramEnv: map[string]map[string]string{"cleaner": {"BAD_THINGS": "on"}}})
	rdb := redisOf(t, s)
	cleaner := s.Programs["cleaner"]
	done := jobInHand(t, s, rdb)
	cleaner.Kill()
	cleaner.Restart(t)

	a := <-done
	if a.status != http.StatusOK {
		t.Fatalf("answer %d %q, want 200 once the job is taken over", a.status, a.error)
	}
	if !strings.Contains(cleaner.Output(), "took over an abandoned job") {
		t.Errorf("the restarted cleaner did not log that it took the job over:\n%s", cleaner.Output())
	}
	trace := wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "cleaner", "cleanJob", nil, "")
	push, _ := findSpan(trace, "gateway", "queue.Push", nil)
	job, _ := findSpan(trace, "cleaner", "cleanJob", nil)
	if wait := time.Duration(job.StartTime-push.StartTime) * time.Microsecond; wait < 5*time.Second {
		t.Errorf("cleanJob starts %s after queue.Push, want the 5 s of the takeover", wait)
	}
	alive(t, s)
	noDeadLetters(t, rdb)
}

// TestCleanerFrozenAndResumed: a cleaner frozen (SIGSTOP) with a job in
// hand, past the 5 s after which a job counts as abandoned, and resumed
// (SIGCONT): it does not take the job over from its own reader, nor take
// the job it finished for one deleted. The job is done once (one cleanJob
// span), its client gets 200, no "lost" alarm is logged, and no answer is
// left behind in Redis.
func TestCleanerFrozenAndResumed(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{ProgramEnv: map[string]map[string]string{"cleaner": {"BAD_THINGS": "on"}}})
	rdb := redisOf(t, s)
	cleaner := s.Programs["cleaner"]
	done := jobInHand(t, s, rdb)
	cleaner.Pause(t)
	time.Sleep(6 * time.Second) // past the cleaner's ClaimIdle (5 s)
	cleaner.Resume(t)

	a := <-done
	if a.status != http.StatusOK {
		t.Fatalf("answer %d %q, want 200", a.status, a.error)
	}
	noDeadLetters(t, rdb)
	time.Sleep(3 * time.Second) // a second cleaning of the job would end, and be reported, by now
	wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "cleaner", "countCommits", nil, "")
	trace, err := s.Jaeger.Client().Trace(context.Background(), a.header.Get("X-Trace-Id"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for _, span := range trace.Spans {
		if span.OperationName == "cleanJob" {
			jobs++
		}
	}
	if jobs != 1 {
		t.Errorf("%d cleanJob spans, want 1: the job was done more than once", jobs)
	}
	if out := cleaner.Output(); strings.Contains(out, "deleted from the stream") {
		t.Errorf("the cleaner raised a false alarm:\n%s", out)
	}
	if left, err := rdb.Keys(context.Background(), answers+"*").Result(); err != nil || len(left) > 0 {
		t.Errorf("answers left in Redis after the client read its own: %v %v", left, err)
	}
	alive(t, s)
}

// TestCleanerRestarted: requests sent while the cleaner restarts wait in
// the queue and each gets its 200 from the new cleaner, whose cleanJob
// span joins the request's trace.
func TestCleanerRestarted(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	cleaner := s.Programs["cleaner"]
	if err := cleaner.Stop(); err != nil {
		t.Fatal(err)
	}
	repos := []string{"golang/go", "torvalds/linux", "rust-lang/rust", "nodejs/node"}
	got := make([]answer, len(repos))
	var wg sync.WaitGroup
	for i, repo := range repos {
		wg.Go(func() {
			a, err := tryCall(s.URL+"/git/"+repo, nil)
			if err != nil {
				t.Error(err)
			}
			got[i] = a
		})
	}
	rdb := redisOf(t, s)
	eventually(t, 10*time.Second, func() bool {
		n, err := rdb.XLen(context.Background(), jobsStream).Result()
		return err == nil && n == int64(len(repos))
	}, func() string { return "the jobs were not queued" })
	cleaner.Restart(t)
	wg.Wait()
	for i, a := range got {
		if a.status != http.StatusOK {
			t.Errorf("GET /git/%s = %d %q, want 200", repos[i], a.status, a.error)
			continue
		}
		wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "cleaner", "cleanJob", nil, "")
	}
	alive(t, s)
	noDeadLetters(t, rdb)
}

// TestContributorsDown: with the contributors service down, the gateway
// answers 502 at once (within 2 s); its fetchStats span has error=true and
// logs the refused connection. No job is queued. Once it is back, so are
// the answers.
func TestContributorsDown(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	contributors := s.Programs["contributors"]
	if err := contributors.Stop(); err != nil {
		t.Fatal(err)
	}
	a := call(t, s.URL+"/git/golang/go", nil)
	wantError(t, a, http.StatusBadGateway, "contributors service is unreachable", 2*time.Second)
	marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "fetchStats", "connection refused")
	rdb := redisOf(t, s)
	noDeadLetters(t, rdb)

	contributors.Restart(t)
	var last answer
	eventually(t, 10*time.Second, func() bool {
		last = call(t, s.URL+"/git/golang/go", nil)
		return last.status == http.StatusOK
	}, func() string { return "still " + last.error })
	alive(t, s)
}

// TestGatewayRefusesBadNames: the gateway checks owner and repository
// names itself, as the monoliths do. A name it let through would be
// escaped into the contributors service's URL (',' and ';' grow to three
// bytes each), past that service's header limit: the client got "the
// contributors service answered 431". It gets the monolith's 400, and no
// other service is called (step 10's call is otelhttp's span "HTTP GET").
func TestGatewayRefusesBadNames(t *testing.T) {
	forSteps(t, []int{7, 10}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		callSpan := "fetchStats"
		if n == 10 {
			callSpan = "HTTP GET"
		}
		for _, tc := range []struct{ path, says string }{
			{"/git/" + strings.Repeat(",", 7000) + "/repo", "invalid owner"},
			{"/git/golang/" + strings.Repeat(";", 7000), "invalid repository name"},
			{"/git/bad_owner/repo", "invalid owner"},
		} {
			a := call(t, s.URL+tc.path, nil)
			wantError(t, a, http.StatusBadRequest, tc.says, 2*time.Second)
			trace := wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", nil, "")
			if _, called := findSpan(trace, "gateway", callSpan, nil); called {
				t.Errorf("%.30s…: the gateway called the contributors service:%s", tc.path, describe(trace))
			}
		}
		wantOK(t, s, "golang/go")
		alive(t, s)
		noDeadLetters(t, redisOf(t, s))
	})
}

// TestClientGivesUp: a client that gives up (curl -m 1) while the program
// waits for GitHub (it hangs) or, in step 7, for the cleaner (stopped) is
// no outage. The program logs the request with nginx's 499 (the client
// closed the request), not 502 "unreachable" or 503 "Redis unavailable";
// the request's span has http.status_code=499, and no span is marked
// error=true, in any service (step 7's contributors service, whose client,
// the gateway, gave up in turn, says 499 too).
func TestClientGivesUp(t *testing.T) {
	forSteps(t, []int{5, 7}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		since := time.Now()
		impatient := &http.Client{Timeout: time.Second}
		giveUp := func(path string) {
			if resp, err := impatient.Get(s.URL + path); err == nil {
				resp.Body.Close()
				t.Errorf("GET %s answered %s before the client gave up", path, resp.Status)
			}
		}
		giveUp("/git/slow/repo") // GitHub hangs
		requests := 1
		if n == 7 {
			if err := s.Programs["cleaner"].Stop(); err != nil {
				t.Fatal(err)
			}
			giveUp("/git/golang/go") // the job waits for a cleaner
			requests++
		}

		// The requests' spans, with their status; no span failed.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var traces []jaeger.Trace
		for len(traces) < requests {
			var err error
			traces, err = s.Jaeger.Client().Find(ctx, "gateway", "GET /git/{owner}/{repo}", since)
			if err != nil {
				t.Fatalf("%d of the %d traces: %v", len(traces), requests, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second) // the traces' last spans
		traces, _ = s.Jaeger.Client().Find(ctx, "gateway", "GET /git/{owner}/{repo}", since)
		for _, trace := range traces {
			request, _ := findSpan(trace, "gateway", "GET /git/{owner}/{repo}", nil)
			if status, _ := request.Tag("http.status_code"); fmt.Sprint(status) != "499" {
				t.Errorf("the request's span has http.status_code %v, want 499:%s", status, describe(trace))
			}
			for _, span := range trace.Spans {
				if errTag, _ := span.Tag("error"); errTag == true {
					t.Errorf("%s's span %s is marked error=true:%s", trace.ServiceName(span), span.OperationName, describe(trace))
				}
			}
		}
		output := s.Public().Output()
		if got := strings.Count(output, "status=499"); got != requests {
			t.Errorf("the program logged %d requests with status=499, want %d:\n%s", got, requests, output)
		}
		for _, outage := range []string{"status=502", "status=503", "status=504"} {
			if strings.Contains(output, outage) {
				t.Errorf("the program logged %s for a client that gave up:\n%s", outage, output)
			}
		}
		if n == 7 {
			// The gateway withdrew the job its client gave up on: the
			// queue is empty at once, so wait for the cleaner itself.
			s.Programs["cleaner"].Restart(t)
			s.Programs["cleaner"].WaitHealthy(t, s.URLs["cleaner"]+"/healthz")
			queueDone(t, redisOf(t, s))
		}
		alive(t, s)
	})
}
