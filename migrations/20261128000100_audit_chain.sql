-- The audit log becomes a hash chain: each row carries its place in the
-- chain, the hash of the row before and its own hash over both. A row
-- changed or deleted by hand breaks the chain at that place, which
-- `intake audit verify` finds; rewriting the whole chain from there on is
-- caught by the signed checkpoints of the chain head kept outside the
-- database.
alter table audit_log
    add column chain_seq bigint unique,
    add column prev_hash bytea,
    add column hash      bytea,
    -- The role the actor acted under (caseworker, delegate, auditor, ...).
    add column role      text;

-- The head of the chain: one row, locked by every insert, so the chain has
-- one order even when transactions commit in another.
create table audit_chain_head (
    only_row  boolean primary key default true check (only_row),
    chain_seq bigint not null,
    hash      bytea not null
);

-- What a row's hash covers, as text: every column but the hashes, in a
-- JSON array (jsonb's text form is canonical). Verification reads the same
-- function, so a value changed by hand changes the text and breaks the hash.
create function audit_canonical(a audit_log) returns text
language sql stable
set search_path = pg_catalog, public, pg_temp
as $$
    select jsonb_build_array(
        a.chain_seq,
        to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.actor, a.role, a.action, a.supplement_id, a.application_id, a.unit, a.detail
    )::text
$$;

-- The genesis: 32 zero bytes before the first row.
create function audit_chain_link() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    head audit_chain_head%rowtype;
begin
    select * into head from audit_chain_head for update;
    if not found then
        head.chain_seq := 0;
        head.hash := decode(repeat('00', 32), 'hex');
        insert into audit_chain_head (chain_seq, hash) values (0, head.hash);
    end if;
    -- The time is the database's, never the writer's.
    new.at := now();
    new.chain_seq := head.chain_seq + 1;
    new.prev_hash := head.hash;
    new.hash := sha256(new.prev_hash || convert_to(audit_canonical(new), 'UTF8'));
    update audit_chain_head set chain_seq = new.chain_seq, hash = new.hash;
    return new;
end
$$;

-- Rows written before the chain existed join it in id order.
do $$
declare
    r audit_log%rowtype;
    prev bytea := decode(repeat('00', 32), 'hex');
    n bigint := 0;
begin
    alter table audit_log disable trigger audit_log_append_only;
    for r in select * from audit_log order by id loop
        n := n + 1;
        r.chain_seq := n;
        r.prev_hash := prev;
        r.hash := sha256(prev || convert_to(audit_canonical(r), 'UTF8'));
        update audit_log set chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash
            where id = r.id;
        prev := r.hash;
    end loop;
    alter table audit_log enable trigger audit_log_append_only;
    insert into audit_chain_head (chain_seq, hash) values (n, prev);
end
$$;

alter table audit_log
    alter column chain_seq set not null,
    alter column prev_hash set not null,
    alter column hash set not null;

create trigger audit_log_chain
    before insert on audit_log
    for each row execute function audit_chain_link();

-- The head is only ever moved by the chain trigger.
create trigger audit_chain_head_no_delete
    before delete or truncate on audit_chain_head
    for each statement execute function audit_log_is_append_only();

create function audit_chain_head_guard() returns trigger
language plpgsql
as $$
begin
    if pg_trigger_depth() < 2 then
        raise exception 'audit_chain_head moves only with the audit log'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

create trigger audit_chain_head_only_by_chain
    before update on audit_chain_head
    for each row execute function audit_chain_head_guard();
