# SMTP server for receipts: aiosmtpd in a virtualenv in the tools cache,
# storing every message under .stack/smtp/mail with the result of checking
# its DKIM signature (dkimpy) against the local key record. Sourced by
# stack.sh; tests start their own with smtp_sink_command.

smtp_up() {
    local log="$LOG_DIR/smtp.log" venv="$TOOLS_DIR/smtp-venv-$STACK_AIOSMTPD_VERSION-dkimpy-$STACK_DKIMPY_VERSION"
    already_running smtp "$STACK_SMTP_PORT" && return
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd, dkim' 2>/dev/null; then
        command -v python3 >/dev/null || apt_install python3
        if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
            apt_install python3-venv
        fi
        say "smtp: installing aiosmtpd $STACK_AIOSMTPD_VERSION and dkimpy $STACK_DKIMPY_VERSION into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" >>"$log" 2>&1 || fail "could not create a Python virtualenv; see $log"
        "$venv/bin/pip" install --quiet "aiosmtpd==$STACK_AIOSMTPD_VERSION" \
            "dkimpy==$STACK_DKIMPY_VERSION" >>"$log" 2>&1 ||
            fail "could not install aiosmtpd and dkimpy; see $log"
    fi
    ensure_port_free smtp "$STACK_SMTP_PORT"
    mkdir -p "$STACK_DIR/smtp/mail"
    spawn smtp "$log" "$venv/bin/python" "$LOCAL_DIR/smtp_sink.py" \
        --port "$STACK_SMTP_PORT" --maildir "$STACK_DIR/smtp/mail" \
        --dkim-record "$STACK_DKIM_RECORD_NAME=$LOCAL_DIR/dkim/local.txt"
    wait_until smtp "$log" 30 port_open "$STACK_SMTP_PORT"
    say "smtp: ready on 127.0.0.1:$STACK_SMTP_PORT, mail stored in $STACK_DIR/smtp/mail"
}

smtp_down() { stop_pid smtp; }
smtp_status() { status_line smtp "$STACK_SMTP_PORT" "aiosmtpd, mail in $STACK_DIR/smtp/mail"; }
