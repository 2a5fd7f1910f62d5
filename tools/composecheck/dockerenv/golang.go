package dockerenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// golangRecipe is in the label of a golang stand-in made by golangStandIn;
// a stand-in without it was made by an older recipe (busybox and Go only:
// no apt-get, make or git, which the dev container needs; or Debian without
// this machine's CA certificates, with which go mod download fails here).
const golangRecipe = "Debian %s from deb.debian.org (mmdebstrap) and this machine's CA certificates"

// golang: Debian of the tag's suite ("1.26.8-trixie": trixie), made with
// mmdebstrap from Debian's mirror, with apt, make, git and curl as in the
// official image, this machine's CA certificates, and its Go toolchain in
// /usr/local/go. No C
// compiler: the Dockerfile builds with CGO_ENABLED=0. The dev container
// installs redis-server into it with apt-get, as into the real image.
func golangStandIn(ctx context.Context, ref, tarball string, progress io.Writer) (string, []string, error) {
	mmdebstrap, err := exec.LookPath("mmdebstrap")
	if err != nil {
		return "", nil, fmt.Errorf("no mmdebstrap, to make a Debian for the stand-in (apt-get install mmdebstrap): %w", err)
	}
	goroot := runtime.GOROOT()
	out, err := exec.CommandContext(ctx, filepath.Join(goroot, "bin", "go"), "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return "", nil, fmt.Errorf("go env: %w", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		return "", nil, fmt.Errorf("go env GOROOT GOVERSION said %q", out)
	}
	goroot, goVersion := fields[0], fields[1]
	tag := ref[strings.LastIndex(ref, ":")+1:]
	if !strings.HasPrefix(tag, strings.TrimPrefix(goVersion, "go")) {
		fmt.Fprintf(progress, "dockerenv: note: %s stands in with this machine's %s\n", ref, goVersion)
	}
	suite := "trixie" // the official tags without a suite are Debian stable's
	if i := strings.LastIndex(tag, "-"); i >= 0 {
		suite = tag[i+1:]
	}
	fmt.Fprintf(progress, "dockerenv: making Debian %s with mmdebstrap (about a minute)\n", suite)
	cmd := exec.CommandContext(ctx, mmdebstrap,
		"--variant=apt", "--format=tar",
		"--include=ca-certificates,curl,git,make,netbase",
		// The hooks run on this machine with $1 the new root. This
		// machine's CA certificates, as in the other stand-ins (a proxy
		// of this network may sign with its own), also where
		// update-ca-certificates finds them when apt-get runs it again.
		`--customize-hook=mkdir -p "$1/usr/local/go" "$1/go/bin" "$1/go/src" && chmod -R 777 "$1/go" && cp -a "$STANDIN_GOROOT/." "$1/usr/local/go/"`,
		`--customize-hook=cp "$STANDIN_CERTS" "$1/etc/ssl/certs/ca-certificates.crt" && cp "$STANDIN_CERTS" "$1/usr/local/share/ca-certificates/this-machine.crt"`,
		suite, tarball, "http://deb.debian.org/debian")
	const certs = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(certs); err != nil {
		return "", nil, fmt.Errorf("CA certificates (apt-get install ca-certificates): %w", err)
	}
	cmd.Env = append(os.Environ(), "STANDIN_GOROOT="+goroot, "STANDIN_CERTS="+certs)
	cmd.Stdout, cmd.Stderr = progress, progress
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("mmdebstrap %s: %w", suite, err)
	}
	return fmt.Sprintf("stand-in for %s: "+golangRecipe+" with apt, make, git and curl, and this machine's %s (%s); no C compiler", ref, suite, goVersion, goroot), []string{
		"ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV GOLANG_VERSION=" + strings.TrimPrefix(goVersion, "go"),
		"ENV GOTOOLCHAIN=local",
		"ENV GOPATH=/go",
		"WORKDIR /go",
		`CMD ["bash"]`,
	}, nil
}

// golangOutdated reports whether a golang stand-in was made by an older
// recipe than golangStandIn's.
func golangOutdated(label string) bool {
	for _, part := range strings.Split(golangRecipe, "%s") {
		if !strings.Contains(label, part) {
			return true
		}
	}
	return false
}
