-- Triage in the inbox: a triage officer attaches a supplement the worker
-- could not match to an application (it is numbered then and joins the
-- unit's queue, announced on the routed topic), or closes it as not a
-- supplement, with a reason.

-- What the matcher pointed at, for the person who decides.
alter table supplements add column triage_candidates text[];
-- The stored text's plaintext size and hash, so an event naming it later
-- (a triage attach) carries the same claim check the worker's would.
alter table supplements add column text_size bigint check (text_size >= 0);
alter table supplements add column text_sha256 text check (text_sha256 ~ '^[0-9a-f]{64}$');
-- Who decided a triaged supplement, when, and why it was closed.
alter table supplements add column decided_by text;
alter table supplements add column decided_at timestamptz;
alter table supplements add column dismissed_reason text;
alter table supplements add constraint supplements_decided
    check ((decided_by is null) = (decided_at is null));

alter table supplements drop constraint supplements_outcome_check;
alter table supplements add constraint supplements_outcome_check
    check (outcome in ('routed', 'triage', 'quarantined', 'duplicate', 'refused', 'unprocessable',
                       'dismissed'));
alter table supplements add constraint supplements_dismissed
    check ((outcome = 'dismissed') = (dismissed_reason is not null));

-- Triage officers read what waits for triage, including what could not be
-- processed at all (only its envelope is known), so they can close it.
create or replace function inbox.why_not_read(
    outcome text, unit text, confidential boolean, assigned_caseworker text
) returns text
language sql stable
as $$
    select case
        when inbox.me() is null then 'not_signed_in'
        when outcome in ('routed', 'duplicate') then
            case
                when not inbox.may_see_place(unit) then 'not_your_unit'
                when not confidential then null
                when inbox.i_am('caseworker') and assigned_caseworker = inbox.me() then null
                else 'confidential'
            end
        when outcome in ('triage', 'unprocessable') then
            case when inbox.i_am('triage_officer') then null else 'not_triage_officer' end
        else 'not_readable_here'
    end
$$;

create or replace function inbox.acting_role(outcome text) returns text
language sql stable
as $$
    select case
        when outcome in ('routed', 'duplicate') and inbox.i_am('caseworker') then 'caseworker'
        when outcome in ('routed', 'duplicate') and inbox.i_am('delegate') then 'delegate'
        when outcome in ('triage', 'unprocessable', 'dismissed') and inbox.i_am('triage_officer')
            then 'triage_officer'
        else nullif(current_setting('intake.roles', true), '')
    end
$$;

-- The same view with the candidates added (columns may only be appended).
create or replace view inbox.supplements with (security_barrier) as
select
    s.supplement_id,
    s.outcome,
    case when r.why_not is null then s.channel end as channel,
    s.arrived_at,
    case when r.why_not is null then s.application_id end as application_id,
    case when r.why_not is null then s.sequence end as sequence,
    s.unit,
    c.confidential,
    case when c.confidential then a.assigned_caseworker end as assigned_to,
    r.why_not is null as readable,
    r.why_not,
    case when r.why_not is null then s.transport end as transport,
    case when r.why_not is null then s.sender end as sender,
    case when r.why_not is null then s.customer_number end as customer_number,
    case when r.why_not is null then s.language end as language,
    case when r.why_not is null then s.request_id end as request_id,
    case when r.why_not is null then s.flags end as flags,
    case when r.why_not is null then s.triage_reasons end as triage_reasons,
    case when r.why_not is null then s.duplicate_of end as duplicate_of,
    case when r.why_not is null then s.possible_resend_of end as possible_resend_of,
    case when r.why_not is null then s.receipt_reference end as receipt_reference,
    case when r.why_not is null then s.text_bucket end as text_bucket,
    case when r.why_not is null then s.text_key end as text_key,
    case when r.why_not is null then
        (select count(*) from attachments f where f.supplement_id = s.supplement_id)
    end as files,
    q.leased_by,
    q.lease_expires_at,
    q.handled_by,
    q.handled_at,
    case when r.why_not is null then s.triage_candidates end as triage_candidates
from supplements s
left join applications a on a.application_id = s.application_id
left join queue_items q on q.supplement_id = s.supplement_id
cross join lateral (select s.confidential or coalesce(a.confidential, false) as confidential) c
cross join lateral (
    select inbox.why_not_read(s.outcome, s.unit, c.confidential, a.assigned_caseworker) as why_not
) r
where inbox.may_see_place(s.unit) and s.outcome in ('routed', 'duplicate')
   or inbox.i_am('triage_officer') and s.outcome in ('triage', 'unprocessable');

-- What a definer function began and the same transaction must finish
-- (an attach must be announced; an approval must record its scan). The
-- inbox cannot write this table, so it cannot fake a beginning, and a
-- transaction that began and did not finish cannot commit.
create table inbox_pending (
    kind  text not null,
    id    uuid not null,
    txid  bigint not null default txid_current(),
    facts jsonb not null default '{}',
    primary key (kind, id)
);

-- Runs at commit as whoever commits: a definer, to read the table.
create function inbox_pending_finished() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, public, pg_temp
as $$
begin
    if exists (select 1 from inbox_pending p
               where p.kind = new.kind and p.id = new.id and p.txid = new.txid) then
        raise exception '% of % was begun and not finished', new.kind, new.id
            using errcode = 'insufficient_privilege';
    end if;
    return null;
end
$$;

create constraint trigger inbox_pending_must_finish
    after insert on inbox_pending
    deferrable initially deferred
    for each row execute function inbox_pending_finished();

-- An audit row under a role the action itself names (a triage officer's
-- attach is recorded as theirs even though the supplement is routed by
-- then). Internal, like `inbox.audit`, which now calls it.
create function inbox.audit_as(acting text, action text, supplement uuid, detail jsonb) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    s supplements%rowtype;
begin
    if inbox.me() is null then
        raise exception 'no one is signed in' using errcode = 'insufficient_privilege';
    end if;
    select * into s from supplements where supplement_id = supplement;
    insert into audit_log (actor, role, action, supplement_id, application_id, unit, detail)
    values (inbox.me(), coalesce(acting, inbox.acting_role(s.outcome)), action, supplement,
            s.application_id, s.unit, coalesce(detail, '{}'));
end
$$;

create or replace function inbox.audit(action text, supplement uuid, detail jsonb) returns void
language sql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$ select inbox.audit_as(null, action, supplement, detail) $$;

-- Attaching a triaged supplement to an application: numbered next in the
-- application's sequence (taken under the same row lock the worker takes,
-- so numbers never repeat), routed to the application's unit, and queued
-- by the enqueue trigger. Returns what the routed event says; the event
-- itself is built by the inbox from these facts and handed to
-- `inbox.announce_routed` in the same transaction.
create function inbox.attach(id uuid, application text, note text)
returns table (application_id text, sequence bigint, unit text, confidential boolean,
               channel text, arrived_at timestamptz, request_id text, flags jsonb,
               text_object jsonb, attachments jsonb)
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
#variable_conflict use_column
declare
    s supplements%rowtype;
    a applications%rowtype;
    next_sequence bigint;
    new_flags jsonb;
    text_ref jsonb;
    files jsonb;
begin
    if not inbox.i_am('triage_officer') or inbox.me() is null then
        raise exception 'only a triage officer attaches supplements' using errcode = 'insufficient_privilege';
    end if;
    if note is not null and length(note) > 2000 then
        raise exception 'a note holds at most 2000 characters' using errcode = 'invalid_parameter_value';
    end if;
    select * into s from supplements v where v.supplement_id = id for update;
    -- Anything not waiting in triage (decided already, or never there)
    -- is not triage's to know about.
    if not found or s.outcome not in ('triage', 'unprocessable') then
        raise exception 'no such supplement in triage' using errcode = 'no_data_found';
    end if;
    if s.outcome = 'unprocessable' then
        raise exception 'nothing of it could be read, so it cannot be attached; close it'
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    select * into a from applications r where r.application_id = application;
    if not found then
        raise exception 'no application % in the registry', application using errcode = 'no_data_found';
    end if;
    insert into application_sequences (application_id) values (a.application_id)
        on conflict on constraint application_sequences_pkey do nothing;
    select last_sequence + 1 into next_sequence
        from application_sequences q where q.application_id = a.application_id for update;
    update application_sequences q set last_sequence = next_sequence
        where q.application_id = a.application_id;
    -- A stranger writing about someone's application stays marked as one.
    new_flags := coalesce(s.flags, '[]');
    if not new_flags @> '[{"kind": "sender_not_party"}]'
       and (s.channel = 'securemail' and s.sender is not null
                and not (lower(s.sender) = any(a.contact_addresses))
            or s.channel = 'enter_finland'
                and s.customer_number is distinct from a.customer_number) then
        new_flags := new_flags || '[{"kind": "sender_not_party"}]';
    end if;
    update supplements v set
        outcome = 'routed', application_id = a.application_id, sequence = next_sequence,
        unit = a.unit, confidential = a.confidential, flags = new_flags,
        decided_by = inbox.me(), decided_at = now()
        where v.supplement_id = id;
    perform inbox.audit_as('triage_officer', 'attach', id, jsonb_build_object(
        'application_id', a.application_id, 'sequence', next_sequence, 'note', note));
    text_ref := case when s.text_bucket is not null and s.text_size is not null
                          and s.text_sha256 is not null
        then jsonb_build_object('bucket', s.text_bucket, 'key', s.text_key,
            'size', s.text_size, 'sha256', s.text_sha256, 'encryption', 'age')
    end;
    files := coalesce((select jsonb_agg(jsonb_build_object(
            'attachment_id', f.attachment_id, 'filename', f.filename,
            'detected_type', coalesce(f.detected_type, 'application/octet-stream'),
            'object', jsonb_build_object('bucket', f.bucket, 'key', f.object_key,
                'size', f.size, 'sha256', f.sha256, 'encryption', 'age'))
        order by f.ordinal)
        from attachments f where f.supplement_id = id and f.verdict = 'clean'), '[]');
    -- What the event must say, kept for `inbox.announce_routed`, which this
    -- transaction must call before it commits.
    insert into inbox_pending (kind, id, facts) values ('announce_routed', id, jsonb_build_object(
        'application_id', a.application_id, 'sequence', next_sequence, 'unit', a.unit,
        'confidential', a.confidential, 'channel', s.channel, 'arrived_at', s.arrived_at,
        'request_id', s.request_id, 'flags', new_flags, 'text', text_ref, 'attachments', files));
    return query select a.application_id, next_sequence, a.unit, a.confidential, s.channel,
        s.arrived_at, s.request_id, new_flags, text_ref, files;
end
$$;

-- The routed event of the supplement attached in this transaction, into
-- the outbox the worker's relay publishes. Only that event: the one the
-- attach left in `inbox_pending` (a table the inbox cannot write, so
-- nothing but `inbox.attach` can ask for an announcement), saying exactly
-- what the attach decided, under the routed type.
create function inbox.announce_routed(id uuid, topic text, message_key text, headers jsonb,
                                      payload jsonb)
returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    f jsonb;
begin
    delete from inbox_pending p
        where p.kind = 'announce_routed' and p.id = announce_routed.id and p.txid = txid_current()
        returning p.facts into f;
    if f is null then
        raise exception 'only the supplement attached in this transaction is announced'
            using errcode = 'insufficient_privilege';
    end if;
    if payload->>'supplement_id' is distinct from id::text
       or payload->'application_id' is distinct from f->'application_id'
       or payload->'sequence' is distinct from f->'sequence'
       or payload->'unit' is distinct from f->'unit'
       or payload->'confidential' is distinct from f->'confidential'
       or payload->'channel' is distinct from f->'channel'
       or payload->'request_id' is distinct from f->'request_id'
       or payload->'flags' is distinct from f->'flags'
       or payload->'text' is distinct from f->'text'
       or payload->'attachments' is distinct from f->'attachments'
       or (payload->>'arrived_at')::timestamptz is distinct from (f->>'arrived_at')::timestamptz
       or (select count(*) from jsonb_object_keys(payload)) <> 11
       or message_key is distinct from f->>'application_id'
       or topic !~ '(^|\.)supplements\.routed\.v1$'
       or jsonb_typeof(headers) is distinct from 'array'
       or (select count(*) from jsonb_array_elements(headers) h where h->>0 = 'ce_type') <> 1
       or not headers @> '[["ce_type", "fi.intake.supplement.routed.v1"]]'
       or (select count(*) from jsonb_array_elements(headers) h where h->>0 = 'ce_subject') <> 1
       or not headers @> jsonb_build_array(jsonb_build_array('ce_subject', id::text)) then
        raise exception 'the event does not announce this attach' using errcode = 'insufficient_privilege';
    end if;
    insert into outbox (topic, message_key, headers, payload)
        values (topic, message_key, headers, payload);
end
$$;

-- Closing a triaged or unprocessable supplement as not a supplement (spam,
-- a misdirected letter, a resend already handled): out of triage, with
-- the reason on the supplement and in the audit log.
create function inbox.dismiss(id uuid, reason text) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    s supplements%rowtype;
begin
    if not inbox.i_am('triage_officer') or inbox.me() is null then
        raise exception 'only a triage officer closes supplements' using errcode = 'insufficient_privilege';
    end if;
    if reason is null or length(btrim(reason)) = 0 or length(reason) > 2000 then
        raise exception 'a reason of 1 to 2000 characters is needed' using errcode = 'invalid_parameter_value';
    end if;
    select * into s from supplements v where v.supplement_id = id for update;
    if not found or s.outcome not in ('triage', 'unprocessable') then
        raise exception 'no such supplement in triage' using errcode = 'no_data_found';
    end if;
    update supplements v set outcome = 'dismissed', dismissed_reason = btrim(reason),
        decided_by = inbox.me(), decided_at = now()
        where v.supplement_id = id;
    perform inbox.audit_as('triage_officer', 'dismiss', id, jsonb_build_object('reason', btrim(reason), 'was', s.outcome));
end
$$;

revoke all on all functions in schema inbox from public;
grant execute on function inbox.attach(uuid, text, text), inbox.announce_routed(uuid, text, text, jsonb, jsonb),
    inbox.dismiss(uuid, text) to intake_inbox_access;

-- A look at the triage list: one audit row per page, as for a queue.
create function inbox.record_triage_list(detail jsonb) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
begin
    if not inbox.i_am('triage_officer') then
        return;
    end if;
    perform inbox.audit_as('triage_officer', 'list_triage', null, coalesce(detail, '{}'));
end
$$;

revoke all on function inbox.record_triage_list(jsonb) from public;
grant execute on function inbox.record_triage_list(jsonb) to intake_inbox_access;
