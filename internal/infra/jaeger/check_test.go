package jaeger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRolesStep11: step 11's own configs keep its three promises.
func TestCheckRolesStep11(t *testing.T) {
	problems, err := CheckRoles(t.Context(), binary(t), step11Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCheckRolesNamesEachBrokenPromise: step 11's configs, each broken as
// a learner might, and the one promise the check says is broken.
func TestCheckRolesNamesEachBrokenPromise(t *testing.T) {
	memory := "        memory:\n          max_traces: 1000\n"
	for _, tc := range []struct {
		name    string
		breakIt func(configs map[string]string)
		want    string
	}{
		{"collector keeps its own memory store", func(c map[string]string) {
			c["collector.yaml"] = between(c["collector.yaml"], "        grpc:", "  healthcheckv2:", memory+"\n")
		}, "not read through query"},
		{"storage in memory", func(c map[string]string) {
			c["storage.yaml"] = between(c["storage.yaml"], "        badger:", "  # The gRPC API", memory+"\n")
		}, "before storage restarted is gone"},
		{"query holds the store (the all-in-one's shape)", func(c map[string]string) {
			c["storage.yaml"] = strings.Replace(c["storage.yaml"], "extensions: [jaeger_storage, remote_storage, healthcheckv2]", "extensions: [healthcheckv2]", 1)
			c["query.yaml"] = strings.Replace(c["query.yaml"], "extensions: [jaeger_storage, jaeger_query, healthcheckv2]", "extensions: [jaeger_storage, jaeger_query, remote_storage, healthcheckv2]", 1)
			c["query.yaml"] = between(c["query.yaml"], "        grpc:", "  jaeger_query:",
				memory+"  remote_storage:\n    endpoint: 127.0.0.1:${env:STORAGE_GRPC_PORT}\n    storage: remote\n\n")
		}, "missing once it is back"},
		{"no query.yaml", func(c map[string]string) { delete(c, "query.yaml") }, "no query.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			configs := map[string]string{}
			for _, role := range []string{"storage", "collector", "query"} {
				data, err := os.ReadFile(filepath.Join(step11Config, role+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				configs[role+".yaml"] = string(data)
			}
			before := len(configs["storage.yaml"]) + len(configs["collector.yaml"]) + len(configs["query.yaml"])
			tc.breakIt(configs)
			if len(configs["storage.yaml"])+len(configs["collector.yaml"])+len(configs["query.yaml"]) == before {
				t.Fatal("the configs did not change: step 11's configs moved on; update the test")
			}
			dir := t.TempDir()
			for name, text := range configs {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			problems, err := CheckRoles(t.Context(), binary(t), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
				t.Errorf("problems %q, want one, saying %q", problems, tc.want)
			}
		})
	}
}

// between replaces what s has from the line starting with from up to the
// line starting with to (not included) by with.
func between(s, from, to, with string) string {
	i := strings.Index(s, from)
	j := strings.Index(s, to)
	if i < 0 || j < i {
		return s
	}
	return s[:i] + with + s[j:]
}

// TestCheckSampling: step 12's configs keep step 12's promise; step 11's,
// which sample nothing at the tail, break it, and the check says so.
func TestCheckSampling(t *testing.T) {
	bin := binary(t)
	problems, err := CheckSampling(t.Context(), bin, step12Config)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("step 12's configs: %q, want no problem", problems)
	}

	// Step 11's configs: everything kept.
	problems, err = CheckSampling(t.Context(), bin, step11Config)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "keeps 100 of 100 ordinary traces") {
		t.Errorf("step 11's configs: %q, want one problem: every ordinary trace kept", problems)
	}

	// Step 12's, without the policy that keeps errors.
	dir := copyConfig(t, step12Config)
	collector, err := os.ReadFile(filepath.Join(dir, "collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	noErrors := strings.Replace(string(collector), "status_codes: [ERROR]", "status_codes: [OK]", 1)
	if noErrors == string(collector) {
		t.Fatal("step 12's collector.yaml has no status_codes: [ERROR] to take out")
	}
	if err := os.WriteFile(filepath.Join(dir, "collector.yaml"), []byte(noErrors), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err = CheckSampling(t.Context(), bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "status is Error are not kept") {
		t.Errorf("step 12's configs without the error policy: %q, want one problem: failed traces lost", problems)
	}
}
