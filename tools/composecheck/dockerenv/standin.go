package dockerenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// StandInLabel marks an image made here in place of the official one. Its
// value says what it was made of.
const StandInLabel = "org.tracing-tutorial.stand-in"

// BaseImage is an image that docker-compose.yml or the Dockerfile pins.
type BaseImage struct {
	Ref     string // as pinned: "redis:7.4-alpine"
	StandIn string // what the stand-in is made of; "" for the real image
	Made    bool   // the stand-in was made by this call
	Pulled  bool   // pulled by this call
}

func (b BaseImage) String() string {
	switch {
	case b.StandIn != "" && b.Made:
		return b.Ref + ": no registry reachable, so a STAND-IN was made: " + b.StandIn
	case b.StandIn != "":
		return b.Ref + ": a STAND-IN made earlier: " + b.StandIn
	case b.Pulled:
		return b.Ref + ": pulled"
	}
	return b.Ref + ": present"
}

// PinnedImages lists the images the Dockerfile builds FROM, the images
// docker-compose.yml runs, and the images the dev container's Dockerfile
// builds FROM, in that order.
func PinnedImages(root string) ([]string, error) {
	var refs []string
	seen := map[string]bool{}
	from := regexp.MustCompile(`(?mi)^FROM\s+(\S+)`)
	for _, f := range []struct {
		name    string
		pattern *regexp.Regexp
	}{
		{"Dockerfile", from},
		{"docker-compose.yml", regexp.MustCompile(`(?m)^\s+image:\s*["']?([^\s"']+)`)},
		{filepath.Join(".devcontainer", "Dockerfile"), from},
	} {
		data, err := os.ReadFile(filepath.Join(root, f.name))
		if err != nil {
			return nil, err
		}
		for _, m := range f.pattern.FindAllStringSubmatch(string(data), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				refs = append(refs, m[1])
			}
		}
	}
	return refs, nil
}

// BaseImages makes sure every pinned image is in the engine's store: an
// image that is there is used as it is, whatever made it; a missing one is
// pulled; and only one that cannot be pulled is replaced by a stand-in made
// from this machine's parts, labelled StandInLabel.
func BaseImages(ctx context.Context, progress io.Writer) ([]BaseImage, error) {
	if progress == nil {
		progress = io.Discard
	}
	root, err := Root()
	if err != nil {
		return nil, err
	}
	refs, err := PinnedImages(root)
	if err != nil {
		return nil, err
	}
	var images []BaseImage
	for _, ref := range refs {
		image := BaseImage{Ref: ref}
		maker, hasStandIn := standIn(ref)
		label, err := Docker(ctx, "image", "inspect", "--format", `{{index .Config.Labels "`+StandInLabel+`"}}`, ref)
		// A stand-in of an older recipe is made again (the one made
		// before the dev container had no apt-get, make or git); any
		// other image is used as it is.
		outdated := err == nil && label != "" && hasStandIn && maker.outdated != nil && maker.outdated(label)
		if err == nil && !outdated {
			image.StandIn = label
			images = append(images, image)
			continue
		}
		if !hasStandIn {
			return images, fmt.Errorf("the pinned image %s has no stand-in here; add one to tools/composecheck/dockerenv", ref)
		}
		if outdated {
			fmt.Fprintf(progress, "dockerenv: %s is a stand-in of an older recipe (%s); making it again\n", ref, label)
		}
		pullCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		_, pullErr := Docker(pullCtx, "pull", "--quiet", ref)
		cancel()
		if pullErr == nil {
			image.Pulled = true
			images = append(images, image)
			continue
		}
		fmt.Fprintf(progress, "dockerenv: %s cannot be pulled (%v); making a stand-in\n", ref, firstLine(pullErr.Error()))
		start := time.Now()
		description, err := maker.make(ctx, ref, progress)
		if err != nil {
			return images, fmt.Errorf("making a stand-in for %s (which cannot be pulled: %v): %w", ref, pullErr, err)
		}
		fmt.Fprintf(progress, "dockerenv: made a stand-in for %s in %s\n", ref, time.Since(start).Round(time.Second))
		image.StandIn, image.Made = description, true
		images = append(images, image)
	}
	return images, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// A stand-in: a file system and the image configuration that go with it.
type standInMaker struct {
	// fill writes the file system; it returns the description for the
	// label and the configuration (docker import --change lines).
	fill func(ctx context.Context, ref string, fs *rootfs, progress io.Writer) (description string, changes []string, err error)
	// tarball, instead of fill, writes the file system as a tarball at
	// path itself.
	tarball func(ctx context.Context, ref, path string, progress io.Writer) (description string, changes []string, err error)
	// outdated, if set, reports whether a stand-in with this label was
	// made by an older recipe, to be made again.
	outdated func(label string) bool
}

// standIn chooses by repository, whatever the tag.
func standIn(ref string) (standInMaker, bool) {
	repo := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo = ref[:i]
	}
	repo = strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/"), "library/")
	switch repo {
	case "golang":
		return standInMaker{tarball: golangStandIn, outdated: golangOutdated}, true
	case "gcr.io/distroless/static-debian12", "gcr.io/distroless/static":
		return standInMaker{fill: distrolessStandIn}, true
	case "jaegertracing/jaeger":
		return standInMaker{fill: jaegerStandIn}, true
	case "redis":
		return standInMaker{fill: redisStandIn}, true
	}
	return standInMaker{}, false
}

// make writes the file system to a temporary tarball and imports it with
// docker import, tagged ref.
func (m standInMaker) make(ctx context.Context, ref string, progress io.Writer) (string, error) {
	tmp, err := os.CreateTemp("", "stand-in-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var description string
	var changes []string
	if m.tarball != nil {
		if err := tmp.Close(); err != nil {
			return "", err
		}
		description, changes, err = m.tarball(ctx, ref, tmp.Name(), progress)
	} else {
		fs := newRootfs(tmp)
		description, changes, err = m.fill(ctx, ref, fs, progress)
		if err == nil {
			err = fs.close()
		}
		if err == nil {
			err = tmp.Close()
		}
	}
	if err != nil {
		return "", err
	}
	args := []string{"import"}
	for _, c := range append(changes, fmt.Sprintf("LABEL %s=%q", StandInLabel, description)) {
		args = append(args, "--change", c)
	}
	args = append(args, tmp.Name(), ref)
	if _, err := Docker(ctx, args...); err != nil {
		return "", err
	}
	return description, nil
}

// etc writes /etc/passwd and /etc/group with root and the given users
// (name -> uid; a group of the same id each), a home for each, the CA
// certificates, and /tmp.
func etc(fs *rootfs, users map[string]int) error {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	group := "root:x:0:\nnobody:x:65534:\n"
	for name, uid := range users {
		passwd += fmt.Sprintf("%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", name, uid, uid, name, name)
		group += fmt.Sprintf("%s:x:%d:\n", name, uid)
		if err := fs.dir("/home/"+name, 0o700, uid); err != nil {
			return err
		}
	}
	if err := fs.file("/etc/passwd", []byte(passwd), 0o644); err != nil {
		return err
	}
	if err := fs.file("/etc/group", []byte(group), 0o644); err != nil {
		return err
	}
	if err := fs.dir("/root", 0o700, 0); err != nil {
		return err
	}
	if err := fs.dir("/tmp", 0o1777, 0); err != nil {
		return err
	}
	const certs = "/etc/ssl/certs/ca-certificates.crt"
	if err := fs.copy(certs, certs); err != nil {
		return fmt.Errorf("CA certificates (apt-get install ca-certificates): %w", err)
	}
	return nil
}

// busybox adds a busybox and the applets named, as /bin/<applet>.
func busybox(fs *rootfs, applets ...string) (string, error) {
	path, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("no busybox for the stand-in's shell and wget (apt-get install busybox-static): %w", err)
	}
	if err := fs.program(path, "/bin/busybox"); err != nil {
		return "", err
	}
	for _, applet := range applets {
		if err := fs.symlink("/bin/"+applet, "busybox"); err != nil {
			return "", err
		}
	}
	return path, nil
}

// distroless/static:nonroot: CA certificates, a non-root user 65532 and
// nothing else.
func distrolessStandIn(ctx context.Context, ref string, fs *rootfs, progress io.Writer) (string, []string, error) {
	if err := etc(fs, map[string]int{"nonroot": 65532}); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("stand-in for %s: this machine's CA certificates and a user nonroot (65532); no shell", ref), []string{
		"USER 65532:65532",
		"WORKDIR /home/nonroot",
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}, nil
}

// jaegertracing/jaeger: the Jaeger that tools/go.mod pins, built here, at
// the official image's path, with its all-in-one default configuration
// (no arguments), and busybox's wget for the health check, as in the
// official Alpine-based image. The image's tag must be the release that
// tools/go.mod pins (JaegerImages).
func jaegerStandIn(ctx context.Context, ref string, fs *rootfs, progress io.Writer) (string, []string, error) {
	root, err := Root()
	if err != nil {
		return "", nil, err
	}
	module, err := requiredVersion(filepath.Join(root, "tools", "go.mod"), "github.com/jaegertracing/jaeger")
	if err != nil {
		return "", nil, err
	}
	tag := ref[strings.LastIndex(ref, ":")+1:]
	if want, ok := JaegerImages[module]; !ok || want != tag {
		return "", nil, fmt.Errorf("tools/go.mod builds Jaeger %s, which is not image tag %s (JaegerImages): the stand-in would lie", module, tag)
	}
	binary, err := jaeger.Binary(ctx, progress)
	if err != nil {
		return "", nil, err
	}
	static, err := Static(binary)
	if err != nil {
		return "", nil, err
	}
	if err := etc(fs, map[string]int{"jaeger": 10001}); err != nil {
		return "", nil, err
	}
	if _, err := busybox(fs, "sh", "wget"); err != nil {
		return "", nil, err
	}
	if err := fs.program(binary, "/cmd/jaeger/jaeger-linux"); err != nil {
		return "", nil, err
	}
	linked := "static"
	if !static {
		linked = "dynamic, with its shared libraries"
	}
	return fmt.Sprintf("stand-in for %s: Jaeger %s (Go module %s) built here (%s), busybox wget", ref, tag, module, linked), []string{
		"USER 10001",
		`ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]`,
		"EXPOSE 4317 4318 5778 9411 13133 14250 14268 16686",
	}, nil
}

// redis: this machine's redis-server and redis-cli (Debian's), in /data
// with protected mode off, as the official image does. The official image
// starts as root, makes /data its user redis's and drops to that user; with
// no tool here to drop privileges, the stand-in's Redis stays root, which
// also lets it save into whatever is mounted on /data when it stops.
func redisStandIn(ctx context.Context, ref string, fs *rootfs, progress io.Writer) (string, []string, error) {
	if err := etc(fs, map[string]int{"redis": 999}); err != nil {
		return "", nil, err
	}
	for _, name := range []string{"redis-server", "redis-cli"} {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", nil, fmt.Errorf("%s, for the stand-in (apt-get install redis-server): %w", name, err)
		}
		// The name matters: Debian's redis-server is a link to
		// redis-check-rdb, which acts on the name it was called by.
		if err := fs.program(path, "/usr/local/bin/"+name); err != nil {
			return "", nil, err
		}
	}
	if err := fs.dir("/data", 0o755, 0); err != nil {
		return "", nil, err
	}
	out, _ := exec.CommandContext(ctx, "redis-server", "--version").Output()
	return fmt.Sprintf("stand-in for %s: this machine's %s", ref, strings.TrimSpace(string(out))), []string{
		"WORKDIR /data",
		"VOLUME /data",
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"EXPOSE 6379",
		`CMD ["redis-server", "--protected-mode", "no"]`,
	}, nil
}
