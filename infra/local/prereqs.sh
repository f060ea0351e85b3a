#!/usr/bin/env bash
# Checks the toolchain and installs the Debian build tools the workspace
# needs (C compilers for librdkafka, aws-lc and SQLite; pkg-config; ss).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v cargo >/dev/null || fail "Rust is not installed: install Rust 1.95 with rustup (https://rustup.rs), then run this again"
rustc_version=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n' 1.95.0 "$rustc_version" | sort -V | head -n1)" != 1.95.0 ]; then
    fail "rustc $rustc_version is older than the 1.95 this workspace needs"
fi

missing=()
for tool in gcc:build-essential g++:build-essential make:build-essential perl:perl pkg-config:pkg-config ss:iproute2 python3:python3; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    # shellcheck disable=SC2046
    apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
fi
