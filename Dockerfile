# One Dockerfile for every program of the tutorial. docker-compose.yml picks
# the program with the build argument PACKAGE, a Go package path from the
# repository's root:
#
#   docker build --build-arg PACKAGE=./step3-adding-jaeger -t step3 .
#   docker build --build-arg PACKAGE=./cmd/fakegithub -t fakegithub .

# ---- build: the Go toolchain, thrown away after the build ----------------
# The Go of go.mod (1.26), pinned to a patch release so that every build
# uses the same compiler.
FROM golang:1.26.8-trixie AS build
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every edit of the source, and every program shares it.
COPY go.mod go.sum ./
# The Go module proxy to download from: docker-compose.yml passes the shell's
# GOPROXY; empty means Go's default.
ARG GOPROXY
RUN go mod download

COPY . .
# Declared after the shared layers above, so that they stay the same for
# every program and are built once.
ARG PACKAGE
# Static binaries (CGO_ENABLED=0) run on an image with no C library;
# -ldflags="-s -w" leaves out the debugger's symbol tables (a third of the
# size; panics still name the functions). The health probe is built beside
# the program: the runtime image has no shell, curl or wget for a health
# check to call. The cache mount keeps compiled packages between builds, so
# the second program builds in seconds.
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/root/.cache/go-build \
    test -n "$PACKAGE" || { echo "set the build argument PACKAGE, e.g. --build-arg PACKAGE=./step1-monolith" >&2; exit 1; }; \
    go build -trimpath -ldflags="-s -w" -o /out/app "$PACKAGE" && \
    go build -trimpath -ldflags="-s -w" -o /out/healthcheck ./cmd/healthcheck

# ---- runtime: the binary and little else ---------------------------------
# distroless/static has CA certificates (the programs call GitHub over TLS),
# time zone data and a "nonroot" user, and no shell or package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
COPY --from=build /out/healthcheck /healthcheck
# 65532 is distroless's "nonroot": the program never runs as root.
USER 65532:65532
ENTRYPOINT ["/app"]
