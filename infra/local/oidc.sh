# The OpenID Connect provider the inbox signs people in with: the certified
# oidc-provider package from the npm registry on the machine's Node.js,
# installed once into the tools cache from the committed lock file. Users
# are infra/local/oidc/users.json; every local user's password is
# STACK_OIDC_PASSWORD. Sourced by stack.sh.

oidc_up() {
    local log="$LOG_DIR/oidc.log" src="$LOCAL_DIR/oidc"
    local dir="$TOOLS_DIR/oidc-$(sha256sum "$src/package-lock.json" | cut -c1-12)"
    already_running oidc "$STACK_OIDC_PORT" && return
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
    if [ ! -d "$dir/node_modules/oidc-provider" ]; then
        say "oidc: installing oidc-provider from infra/local/oidc/package-lock.json into $dir"
        rm -rf "$dir" && mkdir -p "$dir"
        cp "$src/package.json" "$src/package-lock.json" "$dir/"
        (cd "$dir" && npm ci --omit=dev --no-audit --no-fund) >>"$log" 2>&1 ||
            fail "could not install oidc-provider; see $log"
    fi
    # Beside its node_modules, so the import resolves.
    cp "$src/provider.mjs" "$dir/"
    ensure_port_free oidc "$STACK_OIDC_PORT"
    mkdir -p "$STACK_DIR/oidc"
    OIDC_PORT="$STACK_OIDC_PORT" OIDC_ISSUER="$INTAKE_INBOX__OIDC__ISSUER" \
        OIDC_USERS="$src/users.json" OIDC_CLIENTS="$src/clients.json" \
        OIDC_KEYS="$STACK_DIR/oidc/keys.json" OIDC_PASSWORD="$STACK_OIDC_PASSWORD" \
        spawn oidc "$log" node "$dir/provider.mjs"
    wait_until oidc "$log" 30 port_open "$STACK_OIDC_PORT"
    say "oidc: ready, issuer $INTAKE_INBOX__OIDC__ISSUER (users in infra/local/oidc/users.json, password $STACK_OIDC_PASSWORD)"
}

oidc_down() { stop_pid oidc; }
oidc_status() { status_line oidc "$STACK_OIDC_PORT" "OpenID Connect provider, issuer $INTAKE_INBOX__OIDC__ISSUER"; }
