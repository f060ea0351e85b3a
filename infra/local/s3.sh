# S3 API server: s3s-fs, which checks SigV4 signatures and checksums and
# streams multipart uploads to disk under .stack/s3. Sourced by stack.sh.

s3_up() {
    local log="$LOG_DIR/s3.log" dir="$STACK_DIR/s3"
    already_running s3 "$STACK_S3_PORT" && return
    local s3s
    s3s=$(cargo_tool s3s-fs "$STACK_S3S_FS_VERSION" s3s-fs "about 2 min" --features binary)
    ensure_port_free s3 "$STACK_S3_PORT"
    mkdir -p "$dir"
    spawn s3 "$log" "$s3s" --host 127.0.0.1 --port "$STACK_S3_PORT" \
        --access-key "$INTAKE_S3__ACCESS_KEY_ID" --secret-key "$INTAKE_S3__SECRET_ACCESS_KEY" "$dir"
    wait_until s3 "$log" 30 port_open "$STACK_S3_PORT"
    say "s3: ready on $INTAKE_S3__ENDPOINT (s3s-fs $STACK_S3S_FS_VERSION)"
}

s3_down() { stop_pid s3; }
s3_status() { status_line s3 "$STACK_S3_PORT" "s3s-fs, data $STACK_DIR/s3"; }
