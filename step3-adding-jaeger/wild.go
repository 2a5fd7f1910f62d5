package main

import (
	"os"
	"sync"
	"time"
)

// The misbehaviour that step 2 brings in: the monolith goes wild. Some
// requests are slow, and when two are in flight, both are. Why is the
// mystery that steps 3 to 5 solve with a tracer, from the outside, as
// you would for a service whose code you cannot read.
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
