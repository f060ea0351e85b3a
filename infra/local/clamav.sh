# clamd from Debian's clamav-daemon with the small signature database in
# infra/local/clamav, and the size limits that 400 MB attachments need.
# Sourced by stack.sh.

clamd_conf() {
    local dir=$1
    cat <<CONF
# Written by infra/local/clamav.sh; edits are overwritten.
TCPSocket $STACK_CLAMD_PORT
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
TemporaryDirectory $dir/tmp
PidFile $RUN_DIR/clamd.pid
LogFile $LOG_DIR/clamd.log
LogTime yes
Foreground no
# Attachments may be 400 MB. All three limits must allow it, and a file over
# any limit must be reported, never passed as clean.
StreamMaxLength 450M
MaxScanSize 450M
MaxFileSize 450M
AlertExceedsMax yes
# Alert on what cannot be looked into or runs by itself; the worker tells
# these heuristics apart from malware (intake_core::decide::scanner_finding).
AlertEncrypted yes
AlertEncryptedArchive yes
AlertEncryptedDoc yes
AlertOLE2Macros yes
AlertBrokenExecutables yes
MaxThreads 4
CONF
}

clamd_answers() {
    clamdscan --config-file="$STACK_DIR/clamav/clamd.conf" --ping 1:1 >/dev/null 2>&1
}

clamav_up() {
    local dir="$STACK_DIR/clamav" log="$LOG_DIR/clamd.log"
    if pid_alive clamd && clamd_answers; then
        # A clamd started with older settings is restarted with these.
        if [ "$(clamd_conf "$dir")" = "$(cat "$dir/clamd.conf" 2>/dev/null)" ]; then
            say "clamd: already running"
            return
        fi
        say "clamd: settings changed; restarting"
        stop_pid clamd
    fi
    if [ ! -x /usr/sbin/clamd ] || ! command -v clamdscan >/dev/null; then
        apt_install clamav-daemon clamdscan
    fi
    ensure_port_free clamd "$STACK_CLAMD_PORT"
    mkdir -p "$dir/db" "$dir/tmp"
    cp "$LOCAL_DIR/clamav/local.ndb" "$LOCAL_DIR/clamav/local.hdb" "$dir/db/"
    clamd_conf "$dir" >"$dir/clamd.conf"
    rm -f "$RUN_DIR/clamd.pid"
    # clamd loads the database, then daemonises and writes its pid file.
    /usr/sbin/clamd --config-file="$dir/clamd.conf" >>"$log" 2>&1 ||
        fail "clamd did not start; see its log: $log"$'\n'"$(tail -n 15 "$log" 2>/dev/null || true)"
    WAIT_PID=""
    wait_until clamd "$log" 60 clamd_answers
    say "clamd: ready on 127.0.0.1:$STACK_CLAMD_PORT ($(clamdscan --config-file="$dir/clamd.conf" --version 2>/dev/null | head -n1))"
}

clamav_down() { stop_pid clamd; }
clamav_status() { status_line clamd "$STACK_CLAMD_PORT" "local signatures, log $LOG_DIR/clamd.log"; }
