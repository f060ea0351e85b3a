#!/usr/bin/env bash
# Checks the toolchain and installs the Debian build tools the workspace
# needs (C compilers for librdkafka, aws-lc and SQLite; pkg-config; ss; curl,
# patch and flock to build the local broker).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v cargo >/dev/null || fail "Rust is not installed: install Rust 1.95 with rustup (https://rustup.rs), then run this again"
rustc_version=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n' 1.95.0 "$rustc_version" | sort -V | head -n1)" != 1.95.0 ]; then
    fail "rustc $rustc_version is older than the 1.95 this workspace needs"
fi

missing=()
for tool in gcc:build-essential g++:build-essential make:build-essential perl:perl pkg-config:pkg-config ss:iproute2 python3:python3 curl:curl patch:patch flock:util-linux; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    # shellcheck disable=SC2046
    apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
fi

# The inbox's browser test: Debian's Chromium, driven by playwright-core and
# checked by axe-core from the committed lock file (no browser download).
browser_missing=()
command -v chromium >/dev/null || browser_missing+=(chromium)
{ command -v node >/dev/null && command -v npm >/dev/null; } || browser_missing+=(nodejs npm)
[ ${#browser_missing[@]} -eq 0 ] || apt_install "${browser_missing[@]}"
browser_dir="$REPO_DIR/tests/browser"
if [ ! -d "$browser_dir/node_modules/playwright-core" ] || [ ! -d "$browser_dir/node_modules/axe-core" ]; then
    say "prereqs: installing playwright-core and axe-core into tests/browser/node_modules"
    (cd "$browser_dir" && npm ci --no-audit --no-fund --ignore-scripts) >>"$LOG_DIR/prereqs-npm.log" 2>&1 ||
        fail "could not install the browser test's packages; see $LOG_DIR/prereqs-npm.log"
fi

# Alert rules are checked and unit-tested with promtool (Debian's
# prometheus package carries it).
command -v promtool >/dev/null || apt_install prometheus

# The Kubernetes manifests are validated offline: kubernetes-validate from
# PyPI (core kinds) in a virtualenv of its own, and the validators generated
# from the KEDA, Strimzi and External Secrets CRDs from npm, both pinned.
k8s_venv="$TOOLS_DIR/kubernetes-validate-$STACK_KUBERNETES_VALIDATE_VERSION"
if [ ! -x "$k8s_venv/bin/kubernetes-validate" ]; then
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    say "prereqs: installing kubernetes-validate $STACK_KUBERNETES_VALIDATE_VERSION into $k8s_venv"
    rm -rf "$k8s_venv"
    {
        python3 -m venv "$k8s_venv" &&
            "$k8s_venv/bin/pip" install --quiet "kubernetes-validate==$STACK_KUBERNETES_VALIDATE_VERSION"
    } >>"$LOG_DIR/prereqs-kubernetes-validate.log" 2>&1 ||
        fail "could not install kubernetes-validate; see $LOG_DIR/prereqs-kubernetes-validate.log"
fi
k8s_check_dir="$REPO_DIR/infra/k8s/check"
if [ ! -d "$k8s_check_dir/node_modules/@kubernetes-models/keda" ]; then
    say "prereqs: installing the CRD validators into infra/k8s/check/node_modules"
    (cd "$k8s_check_dir" && npm ci --no-audit --no-fund --ignore-scripts) >>"$LOG_DIR/prereqs-npm.log" 2>&1 ||
        fail "could not install the CRD validators; see $LOG_DIR/prereqs-npm.log"
fi

# The inbox API's contract test: schemathesis from PyPI in a virtualenv of
# its own, pinned.
schemathesis_venv="$TOOLS_DIR/schemathesis-$STACK_SCHEMATHESIS_VERSION"
if [ ! -x "$schemathesis_venv/bin/schemathesis" ]; then
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3-venv
    fi
    say "prereqs: installing schemathesis $STACK_SCHEMATHESIS_VERSION into $schemathesis_venv"
    rm -rf "$schemathesis_venv"
    {
        python3 -m venv "$schemathesis_venv" &&
            "$schemathesis_venv/bin/pip" install --quiet "schemathesis==$STACK_SCHEMATHESIS_VERSION"
    } >>"$LOG_DIR/prereqs-schemathesis.log" 2>&1 ||
        fail "could not install schemathesis; see $LOG_DIR/prereqs-schemathesis.log"
fi
