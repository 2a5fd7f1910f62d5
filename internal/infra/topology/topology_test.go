package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEveryStepIsWiredToWhatExists(t *testing.T) {
	steps := Steps()
	if len(steps) != 12 {
		t.Fatalf("%d steps, want 12", len(steps))
	}
	for i, step := range steps {
		if step.Number != i+1 {
			t.Errorf("step %d is number %d", i+1, step.Number)
		}
		services := map[string]string{}
		for _, p := range step.Programs {
			services[p.Service] = "127.0.0.1:1"
			if _, err := os.Stat(filepath.Join("..", "..", "..", p.Package, "main.go")); err != nil {
				t.Errorf("step %d: program %s: %v", step.Number, p.Service, err)
			}
		}
		for _, p := range step.Programs {
			_, err := Resolve(p.Env, func(name string) (string, bool) {
				if name == Redis || name == JaegerCollector || name == JaegerOTLP || name == JaegerSampling || name == GitHub {
					return "127.0.0.1:1", true
				}
				addr, ok := services[name]
				return addr, ok
			})
			if err != nil {
				t.Errorf("step %d: %s: %v", step.Number, p.Service, err)
			}
		}
		if got, want := step.NeedsJaeger(), step.Number >= 3; got != want {
			t.Errorf("step %d: NeedsJaeger = %v, want %v", step.Number, got, want)
		}
		if got, want := step.NeedsRedis(), step.Number >= 6; got != want {
			t.Errorf("step %d: NeedsRedis = %v, want %v", step.Number, got, want)
		}
		// Step 11 on run Jaeger as its roles, from the step's own configs.
		if step.Number >= 11 {
			for _, role := range []string{"storage", "collector", "query"} {
				if _, err := os.Stat(filepath.Join("..", "..", "..", step.JaegerRoles, role+".yaml")); err != nil {
					t.Errorf("step %d: %v", step.Number, err)
				}
			}
		} else if step.JaegerRoles != "" {
			t.Errorf("step %d: JaegerRoles %q, want the all-in-one", step.Number, step.JaegerRoles)
		}
	}
}

func TestResolve(t *testing.T) {
	env, err := Resolve(map[string]string{"URL": "http://{a}/x", "PLAIN": "8000"}, func(name string) (string, bool) {
		return "host:1", name == "a"
	})
	if err != nil || env["URL"] != "http://host:1/x" || env["PLAIN"] != "8000" {
		t.Errorf("Resolve = %v, %v", env, err)
	}
	if _, err := Resolve(map[string]string{"X": "{nobody}"}, func(string) (string, bool) { return "", false }); err == nil {
		t.Error("an unknown name resolved")
	}
}

func TestFindUnknownStepListsTheSteps(t *testing.T) {
	_, err := Find(99)
	if err == nil {
		t.Fatal("Find(99) found a step")
	}
	for _, step := range []string{
		"1 (step1-monolith)",
		"2 (step2-monolith-wild)",
		"3 (step3-adding-jaeger)",
		"4 (step4-multiple-spans)",
		"5 (step5-tags-logs)",
		"6 (step6-distributed-single-span)",
		"7 (step7-distributed-multi-span)",
		"8 (step8-baggage)",
		"9 (step9-opentelemetry)",
		"10 (step10-opentelemetry-native)",
		"11 (step11-jaeger-architecture)",
		"12 (step12-sampling)",
	} {
		if !strings.Contains(err.Error(), step) {
			t.Errorf("Find(99) error %q does not name step %s", err, step)
		}
	}
	if !strings.Contains(err.Error(), "no step 99") {
		t.Errorf("Find(99) error %q does not name the step asked for", err)
	}
}

func TestSteps9OnReportOverOTLP(t *testing.T) {
	for _, n := range []int{9, 10, 11, 12} {
		step, err := Find(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range step.Programs {
			if p.Env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://{"+JaegerOTLP+"}" || p.Env["JAEGER_ENDPOINT"] != "" {
				t.Errorf("%s: env %v, want OTEL_EXPORTER_OTLP_ENDPOINT to {%s} and no JAEGER_ENDPOINT", p.Service, p.Env, JaegerOTLP)
			}
		}
		if !step.NeedsJaeger() {
			t.Errorf("step %d does not need Jaeger", n)
		}
	}
}

// TestStep12SamplesAsTheCollectorSays: step 12's programs ask the
// collector's remote_sampling how to sample (Jaeger's remote sampler,
// parent-based so that a trace stays whole), and step 11's sample all.
func TestStep12SamplesAsTheCollectorSays(t *testing.T) {
	for n, want := range map[int]string{11: "", 12: "parentbased_jaeger_remote"} {
		step, err := Find(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range step.Programs {
			if got := p.Env["OTEL_TRACES_SAMPLER"]; got != want {
				t.Errorf("%s: OTEL_TRACES_SAMPLER %q, want %q", p.Service, got, want)
			}
			if arg := p.Env["OTEL_TRACES_SAMPLER_ARG"]; want != "" && !strings.Contains(arg, "endpoint=http://{"+JaegerSampling+"}/sampling") {
				t.Errorf("%s: OTEL_TRACES_SAMPLER_ARG %q names no {%s}", p.Service, arg, JaegerSampling)
			}
		}
	}
}
