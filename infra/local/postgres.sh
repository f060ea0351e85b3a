# PostgreSQL: reuse a server answering on 127.0.0.1:$STACK_POSTGRES_PORT, or
# install and start Debian's. Either way, make sure the `intake` role and
# database exist. Sourced by stack.sh.

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$STACK_POSTGRES_PORT"; }

# Runs SQL as a superuser: over TCP where auth is trust, else through the
# local socket as the postgres OS user (peer auth on a fresh install).
pg_admin_sql() {
    if psql -h 127.0.0.1 -p "$STACK_POSTGRES_PORT" -U postgres -d postgres -w -tAq -c 'select 1' >/dev/null 2>&1; then
        psql -h 127.0.0.1 -p "$STACK_POSTGRES_PORT" -U postgres -d postgres -w -tAq -v ON_ERROR_STOP=1 -c "$1"
    elif [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- psql -p "$STACK_POSTGRES_PORT" -d postgres -tAq -v ON_ERROR_STOP=1 -c "$1"
    else
        sudo -u postgres psql -p "$STACK_POSTGRES_PORT" -d postgres -tAq -v ON_ERROR_STOP=1 -c "$1"
    fi
}

postgres_up() {
    local log="$LOG_DIR/postgres.log"
    command -v pg_isready >/dev/null || apt_install postgresql-client
    if pg_answers; then
        say "postgres: using the server already on 127.0.0.1:$STACK_POSTGRES_PORT"
    else
        if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
            apt_install postgresql
        fi
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n1)
        ensure_port_free postgres "$STACK_POSTGRES_PORT"
        say "postgres: starting cluster $version/main"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >>"$log" 2>&1 ||
            fail "postgres $version/main did not start; see $log and /var/log/postgresql/postgresql-$version-main.log"
        echo "$version" >"$RUN_DIR/postgres.started-by-stack"
        wait_until postgres "/var/log/postgresql/postgresql-$version-main.log" 30 pg_answers
    fi
    pg_admin_sql "do \$\$ begin
            if not exists (select from pg_roles where rolname = 'intake') then
                create role intake login createdb password 'intake';
            end if;
            -- What the inbox acts as while serving a signed-in person: it
            -- reaches only the inbox schema (see migrations/*_inbox_access.sql).
            if not exists (select from pg_roles where rolname = 'intake_inbox_access') then
                create role intake_inbox_access nologin nobypassrls;
            end if;
            grant intake_inbox_access to intake;
            -- The inbox logs in as a role that is nothing but that: it owns
            -- nothing, so it cannot switch a trigger off or reset its way
            -- back to the owner.
            if not exists (select from pg_roles where rolname = 'intake_inbox') then
                create role intake_inbox login password 'intake_inbox' nobypassrls;
            end if;
            grant intake_inbox_access to intake_inbox;
        end \$\$;" >>"$log" 2>&1 || fail "postgres: could not create the roles intake, intake_inbox and intake_inbox_access; see $log"
    if [ -z "$(pg_admin_sql "select 1 from pg_database where datname = 'intake'")" ]; then
        pg_admin_sql "create database intake owner intake" >>"$log" 2>&1 ||
            fail "postgres: could not create database intake; see $log"
    fi
    say "postgres: ready (database intake)"
}

postgres_down() {
    if [ -f "$RUN_DIR/postgres.started-by-stack" ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(cat "$RUN_DIR/postgres.started-by-stack")" main stop || true
        rm -f "$RUN_DIR/postgres.started-by-stack"
        say "postgres stopped"
    elif pg_answers; then
        say "postgres: left running (it was running before the stack started)"
    fi
}

postgres_status() {
    local note="system server"
    [ -f "$RUN_DIR/postgres.started-by-stack" ] && note="started by the stack"
    status_line postgres "$STACK_POSTGRES_PORT" "$note"
}
