# Prometheus from Debian's package (the one `make rules` checks with), with
# intake's scrape configuration and alert rules from infra/prometheus and
# its data under .stack/prometheus. Sourced by stack.sh.

prometheus_up() {
    local log="$LOG_DIR/prometheus.log"
    already_running prometheus "$STACK_PROMETHEUS_PORT" && return
    command -v prometheus >/dev/null || apt_install prometheus
    ensure_port_free prometheus "$STACK_PROMETHEUS_PORT"
    mkdir -p "$STACK_DIR/prometheus"
    spawn prometheus "$log" prometheus \
        --config.file="$REPO_DIR/infra/prometheus/prometheus.yml" \
        --storage.tsdb.path="$STACK_DIR/prometheus" \
        --storage.tsdb.retention.time=7d \
        --web.listen-address="127.0.0.1:$STACK_PROMETHEUS_PORT"
    wait_until prometheus "$log" 60 port_open "$STACK_PROMETHEUS_PORT"
    say "prometheus: ready on http://127.0.0.1:$STACK_PROMETHEUS_PORT (scrapes intake's services and 'intake lag --serve')"
}

prometheus_down() { stop_pid prometheus; }
prometheus_status() { status_line prometheus "$STACK_PROMETHEUS_PORT" "Prometheus, data in $STACK_DIR/prometheus"; }
