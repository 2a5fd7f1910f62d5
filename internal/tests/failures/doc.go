// Package failures is the tutorial's failure matrix: for each way the
// system can fail (GitHub, Redis, the cleaner, the contributors service,
// Jaeger, trace headers, the queue, shutdown), one end-to-end test that
// causes it against step 7, and against the monolith (step 5) where it
// applies, with real processes, a real Redis and a real Jaeger. Each test
// checks what the client gets (the status and the JSON error), that no
// program crashed, that no queued job was lost, and what the trace shows.
//
// docs/failures.md is the matrix as the learner reads it, "what happens
// when…": TestTableNamesEveryTest keeps the two together.
package failures
