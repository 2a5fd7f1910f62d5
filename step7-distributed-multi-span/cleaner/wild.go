package main

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"
)

// The misbehaviour that step 2 brought in, and that step 5's trace
// explains.
//
// Somebody made cleaning "smarter": every repository's contributors are
// merged into one login index that all requests share, so one mutex guards
// it. For a big repository the index is rebuilt while the mutex is held,
// and that takes a while. Nothing of this shows from the outside: some
// requests are slow, and when two are in flight, both are, because the
// second waits for the first's mutex.
//
// It is on by default: it is the lesson. BAD_THINGS=off switches it off
// (the "fix"), as the tests do where they are not about it.
var badThings = os.Getenv("BAD_THINGS") != "off"

const bigRepoContributors = 50 // a repository this big gets its index rebuilt

var (
	reindexTime = 2 * time.Second
	loginIndex  sync.Mutex
)

// updateLoginIndex runs while the statistics of any repository are cleaned.
func updateLoginIndex(ctx context.Context, contributors int) {
	if !badThings {
		return
	}
	span := opentracing.SpanFromContext(ctx)
	span.LogFields(log.String("event", "waiting for the login index lock"))
	loginIndex.Lock()
	defer loginIndex.Unlock()
	span.LogFields(log.String("event", "login index locked"))
	if contributors >= bigRepoContributors {
		span.LogFields(log.String("event", "rebuilding the login index"), log.Int("contributors", contributors))
		time.Sleep(reindexTime) // "rebuilding the index"
	}
}
