#!/usr/bin/env bash
# The local stack without Docker: stack.sh up | down | status [service...]
# Services: postgres kafka s3 clamav smtp eservice oidc prometheus (all by default). Idempotent:
# `up` twice leaves one of each running; `down` stops what the stack started.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for part in postgres kafka s3 clamav smtp eservice oidc prometheus; do
    # shellcheck source=/dev/null
    . "$LOCAL_DIR/$part.sh"
done

ALL=(postgres kafka s3 clamav smtp eservice oidc prometheus)
command=${1:-status}
shift || true
services=("$@")
[ ${#services[@]} -gt 0 ] || services=("${ALL[@]}")

case "$command" in
up)
    for s in "${services[@]}"; do "${s}_up"; done
    say "all up; logs in $LOG_DIR"
    ;;
down)
    [ $# -gt 0 ] || bash "$LOCAL_DIR/services.sh" stop
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do "${services[i]}_down"; done
    ;;
status)
    echo "local stack ($STACK_DIR):"
    for s in "${services[@]}"; do "${s}_status"; done
    [ $# -gt 0 ] || bash "$LOCAL_DIR/services.sh" status
    ;;
env)
    # For `eval "$(infra/local/stack.sh env)"` in a shell.
    grep -E '^INTAKE_' "$LOCAL_DIR/stack.env" | while IFS= read -r line; do
        printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
    done
    echo "export INTAKE_LOCAL_STACK=true"
    ;;
*)
    fail "unknown command '$command' (use up, down, status or env)"
    ;;
esac
