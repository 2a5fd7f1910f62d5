package jaeger

import (
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// Running is what a `make run` writes down about the Jaeger it started, so
// that cmd/trace finds that Jaeger on whatever port it took.
type Running struct {
	PID      int       `json:"pid"` // the runner's
	Step     int       `json:"step"`
	QueryURL string    `json:"query_url"`
	Started  time.Time `json:"started"`
}

// runningDir holds one file per running `make run`: <pid>.json.
func runningDir() (string, error) {
	cache, err := paths.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "running"), nil
}

// Record writes r down for FindRunning, and returns what removes it again
// (when the runner stops).
func Record(r Running) (remove func(), err error) {
	dir, err := runningDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, strconv.Itoa(r.PID)+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// FindRunning returns the Jaeger of the most recently started `make run`
// that is still running, if any. Records of runners that have died
// without removing theirs are removed.
func FindRunning() (Running, bool) {
	dir, err := runningDir()
	if err != nil {
		return Running{}, false
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var found []Running
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r Running
		if json.Unmarshal(data, &r) != nil || r.PID <= 0 || r.QueryURL == "" {
			continue
		}
		if !alive(r.PID) {
			os.Remove(path)
			continue
		}
		found = append(found, r)
	}
	if len(found) == 0 {
		return Running{}, false
	}
	return slices.MaxFunc(found, func(a, b Running) int { return cmp.Compare(a.Started.UnixNano(), b.Started.UnixNano()) }), true
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
