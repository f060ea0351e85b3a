#!/usr/bin/env bash
# Starts or stops intake's own services against the local stack:
# services.sh start | stop | status. Each runs in the background with its
# log in .stack/logs/<service>.log; `start` waits until each says "ready".
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Service configuration names files relative to the repository.
cd "$REPO_DIR" || exit

SERVICES=(gateway worker receipts inbox)
# Where `intake lag --serve` listens; infra/prometheus/prometheus.yml scrapes it.
LAG_PORT=9464
BIN_DIR=${BIN_DIR:-$REPO_DIR/target/debug}

start() {
    for s in "${SERVICES[@]}"; do
        local name="intake-$s" log="$LOG_DIR/intake-$s.log"
        if pid_alive "$name"; then
            say "$name: already running"
            continue
        fi
        [ -x "$BIN_DIR/$name" ] || fail "$BIN_DIR/$name is missing; run 'cargo build --workspace' first"
        : >"$log"
        INTAKE_TELEMETRY__LOG_FORMAT=${INTAKE_TELEMETRY__LOG_FORMAT:-json} spawn "$name" "$log" "$BIN_DIR/$name"
        wait_until "$name" "$log" 60 grep -q '"message":"ready"' "$log"
        say "$name: ready (log: $log)"
    done
    start_checkpoints
    start_lag_exporter
}

# Consumer lag and business lag for Prometheus (`intake lag --serve`).
start_lag_exporter() {
    local name=intake-lag log="$LOG_DIR/intake-lag.log"
    if pid_alive "$name"; then
        say "$name: already running"
        return
    fi
    : >"$log"
    spawn "$name" "$log" "$BIN_DIR/intake" lag --serve "127.0.0.1:$LAG_PORT" --watch 15s
    wait_until "$name" "$log" 60 port_open "$LAG_PORT"
    say "$name: lag metrics on http://127.0.0.1:$LAG_PORT/metrics (log: $log)"
}

# The audit chain's head, signed into S3 now and every day after.
start_checkpoints() {
    local name=intake-audit-checkpoint log="$LOG_DIR/intake-audit-checkpoint.log"
    if pid_alive "$name"; then
        say "$name: already running"
        return
    fi
    : >"$log"
    spawn "$name" "$log" "$BIN_DIR/intake" audit checkpoint --every 24h
    wait_until "$name" "$log" 60 grep -q 'audit checkpoint:' "$log"
    say "$name: signed the audit chain's head; again every 24 h (log: $log)"
}

stop() {
    stop_pid intake-lag
    stop_pid intake-audit-checkpoint
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_pid "intake-${SERVICES[i]}"; done
}

status() {
    for s in "${SERVICES[@]}"; do
        if pid_alive "intake-$s"; then
            printf '  %-16s up    pid %s\n' "intake-$s" "$(cat "$RUN_DIR/intake-$s.pid")"
        else
            printf '  %-16s down\n' "intake-$s"
        fi
    done
    if pid_alive intake-lag; then
        printf '  %-16s up    pid %s\n' "lag-exporter" "$(cat "$RUN_DIR/intake-lag.pid")"
    else
        printf '  %-16s down\n' "lag-exporter"
    fi
    if pid_alive intake-audit-checkpoint; then
        printf '  %-16s up    pid %s\n' "audit-checkpoint" "$(cat "$RUN_DIR/intake-audit-checkpoint.pid")"
    else
        printf '  %-16s down\n' "audit-checkpoint"
    fi
}

case "${1:-status}" in
start) start ;;
# Fresh processes on freshly built binaries.
restart) stop; start ;;
stop) stop ;;
status) status ;;
*) fail "unknown command '$1' (use start, stop or status)" ;;
esac
