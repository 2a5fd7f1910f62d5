package main

import (
	"os"
	"sync"
	"time"
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
func updateLoginIndex(contributors int) {
	if !badThings {
		return
	}
	loginIndex.Lock()
	defer loginIndex.Unlock()
	if contributors >= bigRepoContributors {
		time.Sleep(reindexTime) // "rebuilding the index"
	}
}
