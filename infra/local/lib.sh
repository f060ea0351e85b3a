# Helpers shared by the local stack scripts. Sourced, not run.
# Layout: data, logs and pid files under $STACK_DIR (git-ignored, in the
# repository); built tools under $TOOLS_DIR (a cache outside the repository,
# rebuilt whenever it is missing).

set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_DIR="$REPO_DIR/infra/local"
STACK_DIR=${STACK_DIR:-$REPO_DIR/.stack}
TOOLS_DIR=${INTAKE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/intake}
LOG_DIR="$STACK_DIR/logs"
RUN_DIR="$STACK_DIR/run"

# shellcheck source=env.sh
. "$LOCAL_DIR/env.sh"

mkdir -p "$LOG_DIR" "$RUN_DIR" "$TOOLS_DIR"

say() { printf '%s\n' "stack: $*"; }
fail() {
    printf '%s\n' "stack: ERROR: $*" >&2
    exit 1
}

# Runs apt-get as root, or through sudo. Refreshes the package lists once if
# a first attempt fails (a fresh machine may have none).
apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || fail "need root or sudo to install Debian packages: $*"
        sudo="sudo"
    fi
    say "installing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get install -y --no-install-recommends "$@" >"$LOG_DIR/apt.log" 2>&1; then
        $sudo apt-get update >>"$LOG_DIR/apt.log" 2>&1 || true
        $sudo apt-get install -y --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1 ||
            fail "could not install $* (log: $LOG_DIR/apt.log)"
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Who listens on a port, for error messages.
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n1; }

pid_alive() {
    local pidfile="$RUN_DIR/$1.pid"
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# Refuses to start a service whose port another process holds.
ensure_port_free() {
    local name=$1 port=$2 owner
    if port_open "$port"; then
        owner=$(port_owner "$port")
        fail "$name cannot start: port $port is in use by ${owner:-another process} (another checkout's stack? run 'make stack-down' there), or set STACK_*_PORT and the matching INTAKE_* address"
    fi
}

# Waits until `check` succeeds, or names the service and its log.
wait_until() {
    local name=$1 log=$2 seconds=$3
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            fail "$name did not become ready within ${seconds}s; see its log: $log"$'\n'"$(tail -n 8 "$log" 2>/dev/null || true)"
        fi
        if [ -n "${WAIT_PID:-}" ] && ! kill -0 "$WAIT_PID" 2>/dev/null; then
            fail "$name exited during start; see its log: $log"$'\n'"$(tail -n 8 "$log" 2>/dev/null || true)"
        fi
        sleep 0.2
    done
}

# Starts a long-running process detached from this shell, recording its pid.
spawn() {
    local name=$1 log=$2
    shift 2
    printf '\n=== %s: starting %s\n' "$(date -Is)" "$name" >>"$log"
    setsid nohup "$@" >>"$log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
    WAIT_PID=$!
}

# True (and says so) when the stack's own process already serves the port.
already_running() {
    local name=$1 port=$2
    if pid_alive "$name" && port_open "$port"; then
        say "$name: already running"
        return 0
    fi
    return 1
}

stop_pid() {
    local name=$1 pidfile="$RUN_DIR/$1.pid"
    if pid_alive "$name"; then
        local pid
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        say "$name stopped"
    fi
    rm -f "$pidfile"
}

status_line() {
    local name=$1 port=$2 detail=${3:-}
    if port_open "$port"; then
        printf '  %-10s up    127.0.0.1:%-5s %s\n' "$name" "$port" "$detail"
    else
        printf '  %-10s down  127.0.0.1:%-5s %s\n' "$name" "$port" "$detail"
    fi
}

# Installs a crate's binary once into the tools cache, pinned and locked.
cargo_tool() {
    local crate=$1 version=$2 bin=$3 estimate=$4
    shift 4
    local root="$TOOLS_DIR/$crate-$version"
    if [ ! -x "$root/bin/$bin" ]; then
        command -v cargo >/dev/null || fail "cargo is needed to build $crate (install Rust 1.95 with rustup)"
        local log="$LOG_DIR/build-$crate.log"
        say "building $crate $version once into $root ($estimate on 2 cores; log: $log)" >&2
        cargo install "$crate@$version" --locked --root "$root" "$@" >"$log" 2>&1 ||
            fail "building $crate failed; see $log"
    fi
    printf '%s\n' "$root/bin/$bin"
}
