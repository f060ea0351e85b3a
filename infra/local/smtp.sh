# SMTP server for receipts: aiosmtpd in a virtualenv in the tools cache,
# storing every message under .stack/smtp/mail. Sourced by stack.sh.

smtp_up() {
    local log="$LOG_DIR/smtp.log" venv="$TOOLS_DIR/smtp-venv-$STACK_AIOSMTPD_VERSION"
    already_running smtp "$STACK_SMTP_PORT" && return
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        command -v python3 >/dev/null || apt_install python3
        if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
            apt_install python3-venv
        fi
        say "smtp: installing aiosmtpd $STACK_AIOSMTPD_VERSION into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" >>"$log" 2>&1 || fail "could not create a Python virtualenv; see $log"
        "$venv/bin/pip" install --quiet "aiosmtpd==$STACK_AIOSMTPD_VERSION" >>"$log" 2>&1 ||
            fail "could not install aiosmtpd; see $log"
    fi
    ensure_port_free smtp "$STACK_SMTP_PORT"
    mkdir -p "$STACK_DIR/smtp/mail"
    spawn smtp "$log" "$venv/bin/python" "$LOCAL_DIR/smtp_sink.py" \
        --port "$STACK_SMTP_PORT" --maildir "$STACK_DIR/smtp/mail"
    wait_until smtp "$log" 30 port_open "$STACK_SMTP_PORT"
    say "smtp: ready on 127.0.0.1:$STACK_SMTP_PORT, mail stored in $STACK_DIR/smtp/mail"
}

smtp_down() { stop_pid smtp; }
smtp_status() { status_line smtp "$STACK_SMTP_PORT" "aiosmtpd, mail in $STACK_DIR/smtp/mail"; }
