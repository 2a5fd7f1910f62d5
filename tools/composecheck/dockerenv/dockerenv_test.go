package dockerenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// notApproved are Jaeger releases the package lists mark "served, but not
// an approved release": never pinned, natively or in compose.
var notApproved = []string{"v1.76.0", "2.13.0"}

// The Jaeger that native runs build (tools/go.mod) and the image that
// docker compose runs are the same release.
func TestJaegerImageIsTheNativeRelease(t *testing.T) {
	root := root(t)
	module, err := requiredVersion(filepath.Join(root, "tools", "go.mod"), "github.com/jaegertracing/jaeger")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := PinnedImages(root)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, ref := range refs {
		if strings.HasPrefix(ref, "jaegertracing/jaeger:") {
			tags = append(tags, strings.TrimPrefix(ref, "jaegertracing/jaeger:"))
		}
	}
	if len(tags) != 1 {
		t.Fatalf("docker-compose.yml runs jaegertracing/jaeger %v, want one pinned tag", tags)
	}
	want, ok := JaegerImages[module]
	if !ok {
		t.Fatalf("tools/go.mod pins Jaeger %s, which JaegerImages does not know: add its image tag, from Jaeger's release notes", module)
	}
	if tags[0] != want {
		t.Errorf("docker-compose.yml runs jaegertracing/jaeger:%s, but tools/go.mod builds Jaeger %s, which is image %s: pin the same release in both", tags[0], module, want)
	}
	for _, v := range notApproved {
		if module == v || tags[0] == v {
			t.Errorf("Jaeger %s is not an approved release", v)
		}
	}
}

// Module v1.X.0 is image 2.(X-63).0.
func TestJaegerImagesRows(t *testing.T) {
	row := regexp.MustCompile(`^v1\.(\d+)\.0$`)
	for module, image := range JaegerImages {
		m := row.FindStringSubmatch(module)
		if m == nil {
			t.Errorf("JaegerImages[%q]: want a module release v1.X.0", module)
			continue
		}
		x, _ := strconv.Atoi(m[1])
		if want := "2." + strconv.Itoa(x-63) + ".0"; image != want {
			t.Errorf("JaegerImages[%q] = %q, want %q (module v1.X.0 is image 2.(X-63).0)", module, image, want)
		}
		if slices.Contains(notApproved, module) || slices.Contains(notApproved, image) {
			t.Errorf("JaegerImages has %s = %s, which is not an approved release", module, image)
		}
	}
}

func TestEveryPinnedImageHasAStandIn(t *testing.T) {
	refs, err := PinnedImages(root(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < 4 {
		t.Errorf("PinnedImages = %v, want the Dockerfile's two and docker-compose.yml's two", refs)
	}
	for _, ref := range refs {
		if _, ok := standIn(ref); !ok {
			t.Errorf("%s has no stand-in: a machine without a registry cannot run compose", ref)
		}
	}
	if _, ok := standIn("postgres:16"); ok {
		t.Error("postgres has a stand-in")
	}
}

func TestParseLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f12)\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f34)\n"
	got := parseLdd([]byte(out))
	want := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if !slices.Equal(got, want) {
		t.Errorf("parseLdd = %v, want %v", got, want)
	}
}

func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		version      string
		major, minor int
		ok           bool
	}{
		{"20.10.24+dfsg1", 20, 10, true},
		{"v0.38.2", 0, 38, true},
		{"5.6.0", 5, 6, true},
		{"dev", 0, 0, false},
	} {
		major, minor, ok := majorMinor(tc.version)
		if major != tc.major || minor != tc.minor || ok != tc.ok {
			t.Errorf("majorMinor(%q) = %d, %d, %v", tc.version, major, minor, ok)
		}
	}
	if !StartIntervalIgnored("20.10.24+dfsg1") || !StartIntervalIgnored("24.0.7") || StartIntervalIgnored("25.0.0") || StartIntervalIgnored("28.2.2") {
		t.Error("StartIntervalIgnored: want true before Engine 25 only")
	}
	if !atLeast("v0.38.2", 0, 17) || atLeast("v0.16.9", 0, 17) || !atLeast("2.20.0", 2, 20) || atLeast("2.19.9", 2, 20) || !atLeast("5.6.0", 2, 20) {
		t.Error("atLeast is wrong")
	}
}

// The plugins' versions come from tools/docker's go.mod files.
func TestPluginVersionsArePinned(t *testing.T) {
	root := root(t)
	for _, p := range plugins {
		version, err := requiredVersion(filepath.Join(root, "tools", "docker", p.name, "go.mod"), p.module)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(version) || !atLeast(version, p.minMajor, p.minMinor) {
			t.Errorf("tools/docker/%s pins %s %s, want a release at least %d.%d", p.name, p.module, version, p.minMajor, p.minMinor)
		}
	}
}

func TestPluginPath(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", "/cache")
	got, err := PluginPath("compose", "v5.6.0")
	if want := "/cache/docker-compose-v5.6.0/docker-compose"; err != nil || got != want {
		t.Errorf("PluginPath = %q, %v; want %q", got, err, want)
	}
}

// install never replaces a plugin that is not ours.
func TestInstallKeepsForeignPlugins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("TUTORIAL_CACHE_DIR", filepath.Join(dir, "cache"))
	p := plugins[0]
	foreign := filepath.Join(dir, "cli-plugins", "docker-"+p.name)
	if err := os.MkdirAll(filepath.Dir(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(foreign, []byte("someone's"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := p.install(filepath.Join(dir, "cache", "x")); err == nil {
		t.Error("install replaced a plugin that is not ours")
	}
	if data, _ := os.ReadFile(foreign); string(data) != "someone's" {
		t.Error("the foreign plugin changed")
	}

	// A link of ours, from an older pin, is replaced.
	os.Remove(foreign)
	if err := os.Symlink(filepath.Join(dir, "cache", "old", "docker-compose"), foreign); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "cache", "new", "docker-compose")
	if _, err := p.install(newer); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(foreign); target != newer {
		t.Errorf("link points to %s, want %s", target, newer)
	}
}

func root(t *testing.T) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// fakeDocker puts a docker command on PATH that logs its arguments and
// answers "image inspect" and "pull" with the given exit codes.
func fakeDocker(t *testing.T, inspect, pull int) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\n" +
		"case \"$1 $2\" in\n" +
		"'image inspect') exit " + strconv.Itoa(inspect) + ";;\n" +
		"'pull '*) exit " + strconv.Itoa(pull) + ";;\n" +
		"esac\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// An image that exists is used as it is, and one that can be pulled is
// pulled: no stand-in replaces either.
func TestBaseImagesNeverReplaceAnImage(t *testing.T) {
	for _, tc := range []struct {
		name          string
		inspect, pull int
		want          string // the docker commands run, besides image inspect
	}{
		{"present", 0, 1, ""},
		{"pulled", 1, 0, "pull"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := fakeDocker(t, tc.inspect, tc.pull)
			images, err := BaseImages(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			refs, _ := PinnedImages(root(t))
			if len(images) != len(refs) {
				t.Fatalf("BaseImages = %v, want one per pinned image %v", images, refs)
			}
			for _, image := range images {
				if image.StandIn != "" || image.Made || image.Pulled != (tc.want == "pull") {
					t.Errorf("%s: %+v", tc.name, image)
				}
			}
			data, _ := os.ReadFile(log)
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				command := strings.Fields(line)[0]
				if command != "image" && command != tc.want {
					t.Errorf("%s: ran docker %s", tc.name, line)
				}
			}
		})
	}
}

// On a learner's machine (no CI=true, no INSTALL=1) a docker without a
// working compose is left as it is: Plugins says what is missing, builds
// nothing and links nothing into the docker CLI's plugin directory.
func TestPluginsInstallNothingUnasked(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("TUTORIAL_CACHE_DIR", filepath.Join(dir, "cache"))
	t.Setenv("CI", "")
	t.Setenv("INSTALL", "")
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// A docker with no plugins: every plugin command fails.
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(filepath.ListSeparator)+os.Getenv("PATH"))
	var progress strings.Builder
	_, err := Plugins(t.Context(), &progress)
	if !errors.Is(err, ErrNotAsked) || !strings.Contains(err.Error(), "no docker compose") {
		t.Errorf("Plugins = %v, want ErrNotAsked, naming compose", err)
	}
	if progress.Len() > 0 {
		t.Errorf("Plugins built something: %s", progress.String())
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "cli-plugins")); len(entries) > 0 {
		t.Errorf("Plugins installed %d plugins", len(entries))
	}
}

// A golang stand-in of the older recipe (busybox and Go, no apt-get, make
// or git, which the dev container needs) is made again; the new one is not.
func TestGolangStandInOutdated(t *testing.T) {
	for _, old := range []string{
		"stand-in for golang:1.26.8-trixie: this machine's go1.26.0 (/usr/local/go) and busybox sh; no C compiler",
		"stand-in for golang:1.26.8-trixie: Debian trixie from deb.debian.org (mmdebstrap) with apt, make, git and curl, and this machine's go1.26.8 (/usr/local/go); no C compiler",
	} {
		if !golangOutdated(old) {
			t.Errorf("golangOutdated(%q) = false, want true", old)
		}
	}
	current := fmt.Sprintf("stand-in for golang:1.26.8-trixie: "+golangRecipe+" with apt, make, git and curl", "trixie")
	if golangOutdated(current) {
		t.Errorf("golangOutdated(%q) = true, want false", current)
	}
	refs, _ := PinnedImages(root(t))
	if !slices.Contains(refs, "golang:1.26.8-trixie") || !slices.Contains(refs, "jaegertracing/jaeger:2.12.0") {
		t.Errorf("PinnedImages = %v, want the dev container's golang and jaeger", refs)
	}
}
