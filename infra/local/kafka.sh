# Kafka-protocol broker: tansu, built once from crates.io (no Kafka
# distribution installs here) with fixes of ours, storing in SQLite under
# .stack/kafka so data survives a broker restart. Sourced by stack.sh.

kafka_up() {
    local log="$LOG_DIR/kafka.log" dir="$STACK_DIR/kafka"
    local tansu
    tansu=$(tansu_binary)
    # A broker of another build (the release, or before the patch changed)
    # is replaced, not kept: the tests and the soak expect this one.
    if pid_alive kafka && [ "$(readlink -f "/proc/$(cat "$RUN_DIR/kafka.pid")/exe")" != "$(readlink -f "$tansu")" ]; then
        say "kafka: the running broker is another build; restarting it as $tansu"
        kafka_down
    fi
    already_running kafka "$STACK_KAFKA_PORT" && return
    ensure_port_free kafka "$STACK_KAFKA_PORT"
    mkdir -p "$dir"
    local url="tcp://127.0.0.1:$STACK_KAFKA_PORT"
    # tansu resolves a sqlite:// path against its working directory. Expired
    # records (each topic's retention.ms) are deleted, and compacted topics
    # compacted, every STACK_KAFKA_MAINTENANCE_INTERVAL.
    (cd "$dir" && spawn kafka "$log" "$tansu" broker \
        --listener-url "$url" --advertised-listener-url "$url" \
        --storage-engine "sqlite://tansu.db?maintenance_interval=$STACK_KAFKA_MAINTENANCE_INTERVAL")
    WAIT_PID=$(cat "$RUN_DIR/kafka.pid")
    # Seconds as a rule; the first start of a new build on a large store
    # builds its indexes before it listens (minutes for a few GB).
    wait_until kafka "$log" 600 port_open "$STACK_KAFKA_PORT"
    say "kafka: ready on $url (tansu $STACK_TANSU_VERSION$(tansu_flavour))"
}

kafka_down() { stop_pid kafka; }
kafka_status() { status_line kafka "$STACK_KAFKA_PORT" "tansu, log $LOG_DIR/kafka.log"; }

tansu_flavour() { [ "${STACK_TANSU_FIXES:-on}" = off ] && echo ", as released" || echo " with infra/local/tansu/fixes.patch"; }

# Where the broker binary is (or is to be): the name carries the version,
# the features and a digest of the patch, so a changed patch is a new build
# (tests/harness/broker.rs finds it by the same name).
tansu_root() {
    local tag=upstream
    [ "${STACK_TANSU_FIXES:-on}" = off ] || tag=fixes-$(sha256sum "$LOCAL_DIR/tansu/fixes.patch" | cut -c1-8)
    printf '%s\n' "$TOOLS_DIR/tansu-$STACK_TANSU_VERSION-${STACK_TANSU_FEATURES//,/-}-$tag"
}

# tansu's release with infra/local/tansu/fixes.patch applied (see the
# README's stack section for what each fix is for), built once from the
# crates' sources with the release's own Cargo.lock. STACK_TANSU_FIXES=off
# builds the release as it is, for comparison.
tansu_binary() {
    local root version=$STACK_TANSU_VERSION
    root=$(tansu_root)
    if [ ! -x "$root/bin/tansu" ]; then
        command -v cargo >/dev/null || fail "cargo is needed to build tansu (install Rust 1.95 with rustup)"
        local log="$LOG_DIR/build-tansu.log" work="$TOOLS_DIR/tansu-build"
        say "building tansu $version$(tansu_flavour) once into $root (15-20 min on 2 cores; log: $log)" >&2
        # One build at a time (another checkout's stack may be building).
        mkdir -p "$work"
        (
            flock 9
            [ -x "$root/bin/tansu" ] || tansu_build "$work" "$version" "$root"
        ) 9>"$work.lock" >"$log" 2>&1 || fail "building tansu failed; see $log"
    fi
    printf '%s\n' "$root/bin/tansu"
}

# In a subshell of its own: the trace goes to the build log only.
tansu_build() (
    local work=$1 version=$2 root=$3
    set -x
    rm -rf "$work/fetch" "$work/src"
    mkdir -p "$work/fetch/src" "$work/src"
    # An empty crate that depends on the two library crates the patch
    # touches, for cargo to fetch their sources.
    cat >"$work/fetch/Cargo.toml" <<TOML || return
[package]
name = "tansu-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
tansu-broker = { version = "=$version", default-features = false }
tansu-storage = { version = "=$version", default-features = false }
TOML
    : >"$work/fetch/src/lib.rs"
    cargo metadata --manifest-path "$work/fetch/Cargo.toml" --format-version 1 >"$work/metadata.json" || return
    python3 - "$work/metadata.json" "$version" "$work/src" <<'PY' || return
import json, os, shutil, sys
metadata, version, dest = sys.argv[1:]
wanted = {"tansu-broker", "tansu-storage"}
for package in json.load(open(metadata))["packages"]:
    if package["name"] in wanted and package["version"] == version:
        source = os.path.dirname(package["manifest_path"])
        # Copied with new file times: cargo then rebuilds what the patch
        # touches even if an earlier build of the other flavour is newer.
        shutil.copytree(source, os.path.join(dest, os.path.basename(source)), copy_function=shutil.copy)
        wanted.discard(package["name"])
if wanted:
    sys.exit(f"sources not fetched: {sorted(wanted)}")
PY
    # The binary's crate has no library, so cargo will not fetch it as a
    # dependency: it comes from the registry cargo uses, checked against
    # the checksum pinned in stack.env.
    local dl
    dl=$(python3 -c 'import glob, json, os, sys; home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")); print(json.load(open(glob.glob(home + "/registry/index/index.crates.io-*/config.json")[0]))["dl"])') || return
    curl -sfL --retry 3 -o "$work/tansu.crate" "$dl/tansu/$version/download" || return
    echo "$STACK_TANSU_SHA256  $work/tansu.crate" | sha256sum -c - || return
    tar -xzf "$work/tansu.crate" -C "$work/src" --touch || return
    if [ "${STACK_TANSU_FIXES:-on}" != off ]; then
        # Exactly as written, or not at all.
        patch --batch --forward --fuzz=0 -d "$work/src" -p1 <"$LOCAL_DIR/tansu/fixes.patch" || return
        printf '\n[patch.crates-io]\ntansu-broker = { path = "../tansu-broker-%s" }\ntansu-storage = { path = "../tansu-storage-%s" }\n' \
            "$version" "$version" >>"$work/src/tansu-$version/Cargo.toml" || return
        # cargo only warns about a [patch] it did not use: make sure both are.
        cargo metadata --manifest-path "$work/src/tansu-$version/Cargo.toml" --format-version 1 \
            --features "$STACK_TANSU_FEATURES" >"$work/patched.json" || return
        python3 - "$work/patched.json" <<'PY' || return
import json, sys
packages = json.load(open(sys.argv[1]))["packages"]
for name in ("tansu-broker", "tansu-storage"):
    if not any(p["name"] == name and p["source"] is None for p in packages):
        sys.exit(f"{name} is not built from the patched sources")
PY
    fi
    # The release's Cargo.lock keeps every other dependency as released
    # (the newest need a newer rustc); one target directory for both
    # flavours, so switching rebuilds only the patched crates.
    CARGO_TARGET_DIR="$work/target" cargo build --release \
        --manifest-path "$work/src/tansu-$version/Cargo.toml" \
        --features "$STACK_TANSU_FEATURES" --bin tansu || return
    # Into place whole: another stack checks for it while this one copies.
    mkdir -p "$root/bin" && cp "$work/target/release/tansu" "$root/bin/tansu.partial" &&
        mv "$root/bin/tansu.partial" "$root/bin/tansu"
)
