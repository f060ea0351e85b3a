-- Every read of a supplement and every decision about one. Append-only:
-- the table refuses UPDATE and DELETE, so a record cannot be rewritten.
create table audit_log (
    id             bigint generated always as identity primary key,
    at             timestamptz not null default now(),
    -- 'system:worker', 'system:receipts' or a caseworker's id
    actor          text not null,
    action         text not null,
    supplement_id  uuid,
    application_id text,
    unit           text,
    detail         jsonb not null default '{}'
);

create index audit_log_supplement on audit_log (supplement_id, at);
create index audit_log_actor on audit_log (actor, at);

create function audit_log_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_log_append_only
    before update or delete on audit_log
    for each row execute function audit_log_is_append_only();

create trigger audit_log_no_truncate
    before truncate on audit_log
    for each statement execute function audit_log_is_append_only();
