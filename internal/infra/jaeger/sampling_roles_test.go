package jaeger

// Step 12's Jaeger: the collector serves sampling strategies from the
// step's strategies.json, and reads the file again when it changes.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// step12Config is step 12's Jaeger configuration, from this package.
const step12Config = "../../../step12-sampling/jaeger"

// copyConfig copies the role configs of dir to a temporary directory, to
// change them in a test.
func copyConfig(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// strategyOf asks the collector's remote_sampling how to sample service,
// as Jaeger's remote sampler in the SDK asks, and returns the default
// probability it answers (-1 if it answers none).
func strategyOf(t *testing.T, samplingURL, service string) float64 {
	t.Helper()
	resp, err := http.Get(samplingURL + "?service=" + service)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		ProbabilisticSampling *struct {
			SamplingRate float64 `json:"samplingRate"`
		} `json:"probabilisticSampling"`
		OperationSampling *struct {
			DefaultSamplingProbability float64 `json:"defaultSamplingProbability"`
		} `json:"operationSampling"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?service=%s: %s, %v", samplingURL, service, resp.Status, err)
	}
	switch {
	case answer.OperationSampling != nil:
		return answer.OperationSampling.DefaultSamplingProbability
	case answer.ProbabilisticSampling != nil:
		return answer.ProbabilisticSampling.SamplingRate
	}
	return -1
}

// TestRolesServeSamplingStrategies: step 12's collector serves each
// service the strategy of strategies.json, and a new rate once the file
// changes, without a restart.
func TestRolesServeSamplingStrategies(t *testing.T) {
	dir := copyConfig(t, step12Config)
	roles := startRoles(t, RolesOptions{ConfigDir: dir})
	if got := strategyOf(t, roles.SamplingURL, "contributors"); got != 1 {
		t.Errorf("contributors' sampling probability %v, want strategies.json's default, 1", got)
	}
	strategies := `{"default_strategy": {"type": "probabilistic", "param": 0.1},
	  "service_strategies": [{"service": "gateway", "type": "probabilistic", "param": 0.25}]}`
	if err := os.WriteFile(filepath.Join(dir, "strategies.json"), []byte(strategies), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		gateway, other := strategyOf(t, roles.SamplingURL, "gateway"), strategyOf(t, roles.SamplingURL, "cleaner")
		if gateway == 0.25 && other == 0.1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after strategies.json changed: gateway %v, cleaner %v, want 0.25 and 0.1", gateway, other)
		}
	}
}
