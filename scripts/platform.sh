# scripts/platform.sh: sourced by scripts/install-* and scripts/setup.
#
# Nothing here installs anything on its own. The install scripts install
# only when may_install says so: in CI (CI=true), or when the learner asked
# for it (make deps sets INSTALL=1). Otherwise they print the command for
# this platform, and the tests that need the missing thing say NOT RUN.
#
# Written for the bash 3.2 and the BSD tools that macOS ships.

# platform: debian (apt-get: Debian, and Ubuntu or WSL2 without snap),
# ubuntu, fedora (dnf), macos, or other.
platform() {
	case "$(uname -s)" in
	Darwin) echo macos ;;
	Linux)
		if command -v apt-get >/dev/null 2>&1; then
			if grep -qs '^ID=ubuntu' /etc/os-release; then echo ubuntu; else echo debian; fi
		elif command -v dnf >/dev/null 2>&1; then
			echo fedora
		else
			echo other
		fi
		;;
	*) echo other ;;
	esac
}

# wsl: whether this is Linux in Windows' WSL2.
wsl() { grep -qis microsoft /proc/version; }

# may_install: whether this run may install system packages.
may_install() { [ "${CI:-}" = true ] || [ "${INSTALL:-}" = 1 ]; }

# how_to_install WHAT: the command that installs WHAT (redis, chromium,
# docker) on this platform.
how_to_install() {
	case "$1:$(platform)" in
	redis:debian | redis:ubuntu) echo "sudo apt-get install -y redis-server" ;;
	redis:fedora) echo "sudo dnf install -y redis" ;;
	redis:macos) echo "brew install redis" ;;
	chromium:debian) echo "sudo apt-get install -y chromium" ;;
	chromium:ubuntu) echo "sudo snap install chromium" ;;
	chromium:fedora) echo "sudo dnf install -y chromium" ;;
	chromium:macos) echo "brew install --cask google-chrome" ;;
	docker:debian | docker:ubuntu)
		if wsl; then
			echo "install Docker Desktop for Windows and turn on its WSL integration: https://docs.docker.com/desktop/features/wsl/"
		else
			echo "sudo apt-get install -y docker.io && sudo systemctl start docker"
		fi
		;;
	docker:fedora) echo "sudo dnf install -y moby-engine && sudo systemctl start docker" ;;
	docker:macos) echo "brew install --cask docker, then open Docker once (Docker Desktop)" ;;
	redis:*) echo "install redis-server with your system's package manager" ;;
	chromium:*) echo "install Chromium or Google Chrome" ;;
	docker:*) echo "install Docker: https://docs.docker.com/engine/install/" ;;
	esac
	if [ "$(platform)" = macos ] && ! command -v brew >/dev/null 2>&1; then
		echo "(first Homebrew, from https://brew.sh)"
	fi
}

# as_root CMD...: runs CMD as root, through sudo when not root (sudo -n in
# CI, which has nobody to type a password).
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif [ "${CI:-}" = true ]; then
		sudo -n "$@"
	else
		sudo "$@"
	fi
}

# apt_install PACKAGE...: installs Debian packages.
apt_install() {
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# within SECONDS CMD...: runs CMD and stops it (SIGTERM) if it still runs
# after SECONDS; its status, or 143 when stopped. macOS has no timeout(1).
within() {
	local secs=$1 pid watchdog status=0
	shift
	"$@" &
	pid=$!
	(
		sleep "$secs"
		kill -TERM "$pid" 2>/dev/null
	) >/dev/null 2>&1 </dev/null &
	watchdog=$!
	wait "$pid" || status=$?
	kill "$watchdog" 2>/dev/null || true
	wait "$watchdog" 2>/dev/null || true
	return "$status"
}
