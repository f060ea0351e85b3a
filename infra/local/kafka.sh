# Kafka-protocol broker: tansu, built once from crates.io (no Kafka
# distribution installs here), storing in SQLite under .stack/kafka so data
# survives a broker restart. Sourced by stack.sh.

kafka_up() {
    local log="$LOG_DIR/kafka.log" dir="$STACK_DIR/kafka"
    already_running kafka "$STACK_KAFKA_PORT" && return
    local tansu
    tansu=$(cargo_tool tansu "$STACK_TANSU_VERSION" tansu "11-15 min" --features dynostore,libsql)
    ensure_port_free kafka "$STACK_KAFKA_PORT"
    mkdir -p "$dir"
    local url="tcp://127.0.0.1:$STACK_KAFKA_PORT"
    # tansu resolves a sqlite:// path against its working directory.
    (cd "$dir" && spawn kafka "$log" "$tansu" broker \
        --listener-url "$url" --advertised-listener-url "$url" \
        --storage-engine sqlite://tansu.db)
    WAIT_PID=$(cat "$RUN_DIR/kafka.pid")
    wait_until kafka "$log" 30 port_open "$STACK_KAFKA_PORT"
    say "kafka: ready on $url (tansu $STACK_TANSU_VERSION)"
}

kafka_down() { stop_pid kafka; }
kafka_status() { status_line kafka "$STACK_KAFKA_PORT" "tansu, log $LOG_DIR/kafka.log"; }
