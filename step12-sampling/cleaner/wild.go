package main

import (
	"context"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Step 2: the monolith goes wild.
//
// Somebody made cleaning "smarter": every repository's contributors are
// merged into one login index that all requests share, so one mutex guards
// it. For a big repository the index is rebuilt while the mutex is held,
// and that takes a while. Nothing of this shows from the outside: some
// requests are slow, and when two are in flight, both are.
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
	span := trace.SpanFromContext(ctx)
	span.AddEvent("waiting for the login index lock")
	loginIndex.Lock()
	defer loginIndex.Unlock()
	span.AddEvent("login index locked")
	if contributors >= bigRepoContributors {
		span.AddEvent("rebuilding the login index", trace.WithAttributes(attribute.Int("contributors", contributors)))
		time.Sleep(reindexTime) // "rebuilding the index"
	}
}
