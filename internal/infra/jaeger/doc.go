// Package jaeger builds, starts and queries the real Jaeger that the
// tutorial's end-to-end tests, its runner and its terminal trace view use.
// The Jaeger it starts serves the tutorial's own trace viewer (ui/) in
// place of the web UI that a Jaeger built from source lacks. Start runs
// the all-in-one Jaeger (memory storage); StartRoles runs it as its roles,
// storage, collector and query, from a step's configuration (step 11).
// None of it is a lesson: the steps report to Jaeger through their tracing
// libraries and never import this package.
package jaeger
