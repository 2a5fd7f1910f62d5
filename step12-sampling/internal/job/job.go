// Package job is the job the gateway queues for the cleaner: its wire
// format, written once for both programs. The queue carries it as a
// message's body (internal/steplib/jobqueue).
package job

import "encoding/json"

// Job is one repository's raw statistics, to be cleaned.
type Job struct {
	Repo  string          `json:"repo"`  // "owner/repo", for the cleaner's errors
	Stats json.RawMessage `json:"stats"` // the contributors service's answer
}
