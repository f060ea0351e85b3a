# The Enter Finland notification API's local stand-in (Python standard
# library only), storing each notification once under .stack/eservice.
# Sourced by stack.sh.

eservice_up() {
    local log="$LOG_DIR/eservice.log"
    already_running eservice "$STACK_ESERVICE_PORT" && return
    command -v python3 >/dev/null || apt_install python3
    ensure_port_free eservice "$STACK_ESERVICE_PORT"
    mkdir -p "$STACK_DIR/eservice/notifications"
    spawn eservice "$log" python3 "$LOCAL_DIR/eservice_standin.py" \
        --port "$STACK_ESERVICE_PORT" --dir "$STACK_DIR/eservice/notifications" \
        --token "$INTAKE_RECEIPTS__ESERVICE_TOKEN"
    wait_until eservice "$log" 30 port_open "$STACK_ESERVICE_PORT"
    say "eservice: stand-in ready on 127.0.0.1:$STACK_ESERVICE_PORT, notifications in $STACK_DIR/eservice/notifications"
}

eservice_down() { stop_pid eservice; }
eservice_status() { status_line eservice "$STACK_ESERVICE_PORT" "Enter Finland stand-in, notifications in $STACK_DIR/eservice/notifications"; }
