-- The caseworkers' inbox and the one place that decides what a signed-in
-- person may see or do: the `inbox` schema.
--
-- The inbox serves people as the role `intake_inbox_access`, which holds
-- privileges on nothing but this schema's views and functions (defaults
-- deny: no grant on any table). Per transaction the inbox sets who is
-- signed in (`inbox.act_as`); every view filters rows and masks columns
-- through the same predicates below, and every function that reads content
-- or changes state checks them and writes the audit row in the same
-- transaction. Row-level security alone would not do: a confidential
-- supplement keeps its place in the unit's queue as a placeholder, so its
-- row is visible while its content is not, and policies cannot mask
-- columns per row. A security-barrier view does both with one predicate.

-- The role is made by whoever administers the cluster (infra/local/
-- postgres.sh does for the local stack); made here only if this user may.
do $$
begin
    if not exists (select from pg_roles where rolname = 'intake_inbox_access') then
        begin
            create role intake_inbox_access nologin nobypassrls;
        exception when insufficient_privilege then
            raise exception 'role intake_inbox_access is missing and % may not create it: create it (nologin nobypassrls)', current_user;
        end;
    end if;
end
$$;

-- On PostgreSQL 15 new databases already keep CREATE on `public` to its
-- owner; databases upgraded from older versions may not. No one else may
-- put a function where the definer functions below would find it.
do $$
begin
    revoke create on schema public from public;
exception when insufficient_privilege then
    raise notice 'cannot revoke CREATE on schema public from PUBLIC: do it as its owner';
end
$$;

-- Who handles a confidential application: the registry says.
alter table applications add column assigned_caseworker text;

-- A routed supplement in its unit's queue: who holds it and whether it is
-- handled. Written by the database when a supplement is routed, so no
-- path can route one past the queue.
create table queue_items (
    supplement_id    uuid primary key references supplements (supplement_id) on delete cascade,
    unit             text not null,
    application_id   text not null,
    arrived_at       timestamptz not null,
    leased_by        text,
    lease_expires_at timestamptz,
    handled_by       text,
    handled_at       timestamptz,
    check ((leased_by is null) = (lease_expires_at is null)),
    check ((handled_by is null) = (handled_at is null))
);

create index queue_items_order on queue_items (unit, arrived_at, supplement_id);
create index queue_items_open on queue_items (unit, arrived_at, supplement_id) where handled_at is null;
create index queue_items_application on queue_items (application_id, arrived_at) where handled_at is null;

create function queue_items_enqueue() returns trigger
language plpgsql
set search_path = pg_catalog, public, pg_temp
as $$
begin
    if new.outcome = 'routed' then
        -- The unit the worker copied, else the application's own.
        insert into queue_items (supplement_id, unit, application_id, arrived_at)
        select new.supplement_id, coalesce(new.unit, a.unit), new.application_id, new.arrived_at
        from applications a where a.application_id = new.application_id
        on conflict (supplement_id) do nothing;
    end if;
    return new;
end
$$;

create trigger supplements_enqueue
    after insert or update of outcome on supplements
    for each row execute function queue_items_enqueue();

insert into queue_items (supplement_id, unit, application_id, arrived_at)
select s.supplement_id, coalesce(s.unit, a.unit), s.application_id, s.arrived_at
from supplements s join applications a on a.application_id = s.application_id
where s.outcome = 'routed'
on conflict (supplement_id) do nothing;

create schema inbox;

-- The predicates below are plain SQL functions without settings, so the
-- planner inlines them into every query that uses them.

-- Who is signed in, for this transaction only. Roles and units come from
-- the verified token; the inbox refuses names holding a comma.
create function inbox.act_as(sub text, roles text[], units text[]) returns void
language sql volatile
set search_path = pg_catalog
as $$
    select set_config('intake.sub', sub, true),
           set_config('intake.roles', array_to_string(roles, ','), true),
           set_config('intake.units', array_to_string(units, ','), true);
$$;

create function inbox.me() returns text
language sql stable
as $$ select nullif(current_setting('intake.sub', true), '') $$;

create function inbox.i_am(role text) returns boolean
language sql stable
as $$
    select coalesce(role = any(string_to_array(nullif(current_setting('intake.roles', true), ''), ',')), false)
$$;

create function inbox.my_units() returns text[]
language sql stable
as $$ select coalesce(string_to_array(nullif(current_setting('intake.units', true), ''), ','), '{}') $$;

-- A member of the unit (its caseworkers and their delegates) sees that a
-- supplement holds a place in the unit's queue.
create function inbox.may_see_place(unit text) returns boolean
language sql stable
as $$
    select inbox.me() is not null
       and (inbox.i_am('caseworker') or inbox.i_am('delegate'))
       and unit = any(inbox.my_units())
$$;

-- Why the signed-in person may not read a supplement's content, or null
-- when they may. Confidential: only the caseworker the registry assigns,
-- acting as a caseworker; never a delegate, never anyone else in the unit.
create function inbox.why_not_read(
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
        when outcome = 'triage' then
            case when inbox.i_am('triage_officer') then null else 'not_triage_officer' end
        else 'not_readable_here'
    end
$$;

-- Every supplement a signed-in person may know exists, with its content
-- columns only where they may read them. Confidential: the current
-- registry state or the state at routing, whichever is stricter.
create view inbox.supplements with (security_barrier) as
select
    s.supplement_id,
    s.outcome,
    -- A placeholder keeps only its place (arrival) and unit: no
    -- application, number or channel, which would tell what it is.
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
    q.handled_at
from supplements s
left join applications a on a.application_id = s.application_id
left join queue_items q on q.supplement_id = s.supplement_id
cross join lateral (select s.confidential or coalesce(a.confidential, false) as confidential) c
cross join lateral (
    select inbox.why_not_read(s.outcome, s.unit, c.confidential, a.assigned_caseworker) as why_not
) r
where inbox.may_see_place(s.unit) and s.outcome in ('routed', 'duplicate')
   or inbox.i_am('triage_officer') and s.outcome = 'triage';

-- The files of the supplements one may read, with their verdicts.
create view inbox.files with (security_barrier) as
select f.attachment_id, f.supplement_id, f.ordinal, f.filename, f.declared_type,
       f.detected_type, f.size, f.sha256, f.verdict, f.verdict_detail, f.scanned_at,
       f.verdict = 'clean' as downloadable
from attachments f
join inbox.supplements s on s.supplement_id = f.supplement_id and s.readable;

-- Earlier arrivals for an application that are not in its queue yet:
-- quarantined, or still being processed (waiting for the scanner or for
-- their turn). Shown beside the queue so a caseworker knows a gap is there.
create view inbox.gaps with (security_barrier) as
select s.application_id, s.arrived_at, s.outcome as stage
from supplements s
join applications a on a.application_id = s.application_id
where s.outcome in ('quarantined', 'unprocessable')
  and inbox.why_not_read('routed', a.unit, s.confidential or a.confidential, a.assigned_caseworker) is null
union all
select c.application_id, c.arrived_at, 'processing'
from ingest_claims c
join applications a on a.application_id = c.application_id
where c.finished_at is null
  and inbox.why_not_read('routed', a.unit, a.confidential, a.assigned_caseworker) is null;

-- The role a person acts under on a supplement: on a unit's supplement a
-- caseworker acts as one, else as a delegate; on triage, as triage officer.
create function inbox.acting_role(outcome text) returns text
language sql stable
as $$
    select case
        when outcome in ('routed', 'duplicate') and inbox.i_am('caseworker') then 'caseworker'
        when outcome in ('routed', 'duplicate') and inbox.i_am('delegate') then 'delegate'
        when outcome = 'triage' and inbox.i_am('triage_officer') then 'triage_officer'
        else nullif(current_setting('intake.roles', true), '')
    end
$$;

-- What a signed-in person did, in the same transaction as the doing.
-- Internal: the access role cannot call it, only the functions below.
create function inbox.audit(action text, supplement uuid, detail jsonb) returns void
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
    values (inbox.me(), inbox.acting_role(s.outcome), action, supplement, s.application_id, s.unit,
            coalesce(detail, '{}'));
end
$$;

-- A look at a page of a unit's queue: one audit row per page.
create function inbox.record_list(unit_name text, detail jsonb) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
begin
    if not inbox.may_see_place(unit_name) then
        return;
    end if;
    perform inbox.audit('list_queue', null, jsonb_build_object('unit', unit_name) || coalesce(detail, '{}'));
end
$$;

-- Opening a supplement: its row when readable, and an audit row either
-- way (a refused look is accounted for too). Not visible: no row, and
-- nothing tells whether it exists.
create function inbox.open_supplement(id uuid) returns setof inbox.supplements
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    found_row inbox.supplements%rowtype;
begin
    select * into found_row from inbox.supplements v where v.supplement_id = id;
    if not found then
        return;
    end if;
    perform inbox.audit(case when found_row.readable then 'read' else 'read_refused' end, id,
        jsonb_build_object('why_not', found_row.why_not));
    return next found_row;
end
$$;

-- A file to download: where it is stored, only when its supplement is
-- readable and its verdict is clean. Audited in the same transaction.
create function inbox.open_file(id uuid)
returns table (attachment_id uuid, supplement_id uuid, filename text, detected_type text,
               size bigint, sha256 text, bucket text, object_key text, refused text)
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    f attachments%rowtype;
    why text;
begin
    select * into f from attachments a where a.attachment_id = id;
    if not found then
        return;
    end if;
    select v.why_not into why from inbox.supplements v where v.supplement_id = f.supplement_id;
    if not found then
        return;
    end if;
    if why is not null then
        -- Seen, not readable (confidential): no name, size or hash, and the
        -- same answer as a file that does not exist, so attachment ids
        -- cannot be counted.
        perform inbox.audit('download_refused', f.supplement_id,
            jsonb_build_object('attachment_id', id, 'why_not', why));
        return;
    end if;
    if f.verdict <> 'clean' then
        why := 'verdict_' || f.verdict;
    end if;
    perform inbox.audit(case when why is null then 'download' else 'download_refused' end,
        f.supplement_id, jsonb_build_object('attachment_id', id, 'why_not', why));
    return query select f.attachment_id, f.supplement_id, f.filename, f.detected_type, f.size,
        f.sha256,
        case when why is null then f.bucket end,
        case when why is null then f.object_key end,
        why;
end
$$;

-- "Take next": the unit's oldest unhandled supplement that the caseworker
-- may read, is not held by someone else, and is the first unhandled one of
-- its application (one application is worked in order). Someone who already
-- holds one gets it back instead of a second. Locked with SKIP LOCKED so two
-- people never get the same one.
create function inbox.take_next(unit_name text, lease_for interval) returns uuid
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    picked uuid;
begin
    if not inbox.may_see_place(unit_name) then
        raise exception 'not a member of unit %', unit_name using errcode = 'insufficient_privilege';
    end if;
    if lease_for <= interval '0' or lease_for > interval '4 hours' then
        raise exception 'a lease lasts more than nothing and at most 4 hours' using errcode = 'invalid_parameter_value';
    end if;
    -- One take at a time per person and unit: parallel calls would each
    -- miss the lease the other is taking and hoard the queue.
    perform pg_advisory_xact_lock(hashtextextended('inbox.take_next/' || inbox.me() || '/' || unit_name, 0));
    select q.supplement_id into picked
    from queue_items q
    join inbox.supplements v on v.supplement_id = q.supplement_id
    where q.unit = unit_name and q.handled_at is null
      and q.leased_by = inbox.me() and q.lease_expires_at > now()
      and v.readable
    order by q.arrived_at, q.supplement_id
    limit 1;
    if picked is null then
        select q.supplement_id into picked
        from queue_items q
        join inbox.supplements v on v.supplement_id = q.supplement_id
        where q.unit = unit_name and q.handled_at is null
          and (q.leased_by is null or q.lease_expires_at <= now())
          and v.readable
          and not exists (
              select 1 from queue_items e
              where e.application_id = q.application_id and e.handled_at is null
                and (e.arrived_at, e.supplement_id) < (q.arrived_at, q.supplement_id))
        order by q.arrived_at, q.supplement_id
        limit 1
        for update of q skip locked;
        if picked is null then
            return null;
        end if;
    end if;
    update queue_items set leased_by = inbox.me(), lease_expires_at = now() + lease_for
        where supplement_id = picked;
    perform inbox.audit('lease', picked, jsonb_build_object('until', now() + lease_for));
    return picked;
end
$$;

-- Marking handled: by whoever holds it, or, when no one does, by anyone
-- who may read it.
create function inbox.mark_handled(id uuid) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    q queue_items%rowtype;
    why text;
begin
    select v.why_not into why from inbox.supplements v where v.supplement_id = id;
    if not found then
        raise exception 'no such supplement' using errcode = 'no_data_found';
    end if;
    if why is not null then
        raise exception '%', why using errcode = 'insufficient_privilege';
    end if;
    select * into q from queue_items where supplement_id = id for update;
    if not found then
        raise exception 'not in a queue' using errcode = 'no_data_found';
    end if;
    if q.handled_at is not null then
        raise exception 'already handled by %', q.handled_by using errcode = 'object_not_in_prerequisite_state';
    end if;
    if q.leased_by is not null and q.leased_by <> inbox.me() and q.lease_expires_at > now() then
        raise exception 'held by %', q.leased_by using errcode = 'object_not_in_prerequisite_state';
    end if;
    if exists (
        select 1 from queue_items e
        where e.application_id = q.application_id and e.handled_at is null
          and (e.arrived_at, e.supplement_id) < (q.arrived_at, q.supplement_id)
    ) then
        raise exception 'an earlier supplement of this application is not handled yet'
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update queue_items set handled_by = inbox.me(), handled_at = now(),
        leased_by = null, lease_expires_at = null
        where supplement_id = id;
    perform inbox.audit('handled', id, '{}');
end
$$;

-- Who opened a supplement, when and under which role: for auditors, and
-- for the caseworker the application is assigned to.
create view inbox.access_log with (security_barrier) as
select l.chain_seq, l.at, l.actor, l.role, l.action, l.supplement_id, l.application_id, l.unit,
       l.detail
from audit_log l
left join applications a on a.application_id = l.application_id
where inbox.me() is not null
  and (inbox.i_am('auditor')
       or inbox.i_am('caseworker') and a.assigned_caseworker = inbox.me() and l.supplement_id is not null);

-- Reading who looked is itself a look, recorded when there was anything
-- to see.
create function inbox.read_access_log(id uuid)
returns setof inbox.access_log
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    n bigint;
begin
    return query select * from inbox.access_log l where l.supplement_id = id order by l.chain_seq;
    get diagnostics n = row_count;
    if n > 0 then
        perform inbox.audit('read_access_log', id, '{}');
    end if;
end
$$;

revoke all on schema inbox from public;
revoke all on all functions in schema inbox from public;
grant usage on schema inbox to intake_inbox_access;
grant select on inbox.supplements, inbox.files, inbox.gaps to intake_inbox_access;
grant execute on all functions in schema inbox to intake_inbox_access;
-- Audit rows are written by the functions that act, never on request.
revoke execute on function inbox.audit(text, uuid, jsonb) from intake_inbox_access;
