-- Quarantine in the inbox: security officers see quarantined files'
-- metadata, may open one for analysis (audited, with a reason), and
-- release one only when two of them agree: one asks with a written
-- reason, a different one approves, and the file is scanned again in the
-- approving transaction. A released file joins its supplement.

create table release_requests (
    request_id       uuid primary key default gen_random_uuid(),
    attachment_id    uuid not null references attachments (attachment_id) on delete cascade,
    requested_by     text not null,
    requested_at     timestamptz not null default now(),
    reason           text not null check (length(btrim(reason)) between 1 and 2000),
    -- What the worker said, kept when a release overwrites it.
    previous_verdict text not null,
    previous_detail  text,
    decided_by       text,
    decided_at       timestamptz,
    -- released: approved and clean on the second scan; still_infected:
    -- approved, but the scan found something (the file stays); rejected:
    -- turned down, or withdrawn by the person who asked.
    decision         text check (decision in ('released', 'still_infected', 'rejected')),
    decision_note    text check (length(decision_note) <= 2000),
    check ((decided_by is null) = (decided_at is null)),
    check ((decided_at is null) = (decision is null)),
    -- Two people: whoever asked never approves (they may withdraw).
    check (decision is distinct from 'released' or decided_by <> requested_by),
    check (decision is distinct from 'still_infected' or decided_by <> requested_by)
);

-- One open request per file.
create unique index release_requests_open on release_requests (attachment_id)
    where decided_at is null;

alter table attachments add column released_by_request uuid references release_requests (request_id);

-- Quarantined files for security officers: what and where from, never the
-- sender, the application or the text, which analysis does not need.
create view inbox.quarantine with (security_barrier) as
select f.attachment_id, f.supplement_id, s.arrived_at, s.channel, s.unit,
       s.outcome as supplement_outcome,
       c.confidential,
       -- A confidential applicant's file names can say what the case is.
       case when not c.confidential then f.filename end as filename,
       f.declared_type, f.detected_type, f.size, f.sha256, f.verdict,
       f.verdict_detail, f.scanned_at,
       r.request_id, r.requested_by, r.requested_at, r.reason as request_reason
from attachments f
join supplements s on s.supplement_id = f.supplement_id
left join applications a on a.application_id = s.application_id
cross join lateral (select s.confidential or coalesce(a.confidential, false) as confidential) c
left join release_requests r on r.attachment_id = f.attachment_id and r.decided_at is null
where inbox.me() is not null and inbox.i_am('security_officer') and f.verdict <> 'clean';

-- The files view again, saying which file a release let through.
create or replace view inbox.files with (security_barrier) as
select f.attachment_id, f.supplement_id, f.ordinal, f.filename, f.declared_type,
       f.detected_type, f.size, f.sha256, f.verdict, f.verdict_detail, f.scanned_at,
       f.verdict = 'clean' as downloadable,
       f.released_by_request is not null as released
from attachments f
join inbox.supplements s on s.supplement_id = f.supplement_id and s.readable;

create function inbox.security_officer() returns void
language plpgsql stable
as $$
begin
    if inbox.me() is null or not inbox.i_am('security_officer') then
        raise exception 'only a security officer handles quarantine' using errcode = 'insufficient_privilege';
    end if;
end
$$;

create function inbox.check_reason(reason text) returns text
language plpgsql immutable
as $$
begin
    if reason is null or length(btrim(reason)) = 0 or length(reason) > 2000 then
        raise exception 'a reason of 1 to 2000 characters is needed' using errcode = 'invalid_parameter_value';
    end if;
    return btrim(reason);
end
$$;

-- Opening a quarantined file for analysis: where it is, audited with the
-- reason in the same transaction. Clean files are not quarantine's.
create function inbox.open_for_analysis(id uuid, reason text)
returns table (attachment_id uuid, supplement_id uuid, filename text, size bigint, sha256 text,
               bucket text, object_key text)
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
#variable_conflict use_column
declare
    f attachments%rowtype;
    why text;
begin
    perform inbox.security_officer();
    why := inbox.check_reason(reason);
    select * into f from attachments a where a.attachment_id = id;
    if not found or f.verdict = 'clean' then
        raise exception 'no such file in quarantine' using errcode = 'no_data_found';
    end if;
    perform inbox.audit_as('security_officer', 'open_for_analysis', f.supplement_id, jsonb_build_object(
        'attachment_id', id, 'reason', why, 'verdict', f.verdict));
    return query select f.attachment_id, f.supplement_id, f.filename, f.size, f.sha256, f.bucket,
        f.object_key;
end
$$;

-- Asking for a file's release, with the reason a second officer reads.
create function inbox.request_release(id uuid, reason text) returns uuid
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    f attachments%rowtype;
    s supplements%rowtype;
    why text;
    made uuid;
begin
    perform inbox.security_officer();
    why := inbox.check_reason(reason);
    select * into f from attachments a where a.attachment_id = id for update;
    if not found or f.verdict = 'clean' then
        raise exception 'no such file in quarantine' using errcode = 'no_data_found';
    end if;
    select * into s from supplements v where v.supplement_id = f.supplement_id;
    if s.outcome not in ('routed', 'duplicate') then
        raise exception 'the whole message is kept out (%), not only this file; a release would have nowhere to go', s.outcome
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    if exists (select 1 from release_requests r where r.attachment_id = id and r.decided_at is null) then
        raise exception 'a release of this file is asked for already' using errcode = 'object_not_in_prerequisite_state';
    end if;
    insert into release_requests (attachment_id, requested_by, reason, previous_verdict, previous_detail)
        values (id, inbox.me(), why, f.verdict, f.verdict_detail)
        returning request_id into made;
    perform inbox.audit_as('security_officer', 'release_requested', f.supplement_id, jsonb_build_object(
        'attachment_id', id, 'request_id', made, 'reason', why, 'verdict', f.verdict));
    return made;
end
$$;

-- The second officer's approval, first half: the request is locked and
-- checked, and the file's place returned to be scanned again. The
-- transaction stays open across the scan; `inbox.finish_release` must
-- record the outcome in it before it can commit. A scanner that cannot answer ends it with nothing
-- changed.
create function inbox.begin_release(request uuid)
returns table (attachment_id uuid, size bigint, sha256 text, bucket text, object_key text)
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
#variable_conflict use_column
declare
    r release_requests%rowtype;
    f attachments%rowtype;
begin
    perform inbox.security_officer();
    -- NOWAIT: a second officer approving at the same moment is told so
    -- at once instead of waiting for the first one's scan.
    select * into r from release_requests q where q.request_id = request and q.decided_at is null
        for update nowait;
    if not found then
        raise exception 'no such open release request' using errcode = 'no_data_found';
    end if;
    if r.requested_by = inbox.me() then
        raise exception 'a release needs a second person: % asked for it', r.requested_by
            using errcode = 'insufficient_privilege';
    end if;
    select * into f from attachments a where a.attachment_id = r.attachment_id for update;
    -- The scan's outcome must be recorded by `inbox.finish_release` in this
    -- transaction (inbox_pending: the inbox cannot fake this step).
    insert into inbox_pending (kind, id) values ('release', request);
    return query select f.attachment_id, f.size, f.sha256, f.bucket, f.object_key;
end
$$;

-- Second half: `finding` is what the scan found (null: nothing). Clean, the
-- file joins its supplement; else it stays in quarantine and the request
-- is closed with the finding.
create function inbox.finish_release(request uuid, finding text) returns text
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    r release_requests%rowtype;
    f attachments%rowtype;
    decided text;
begin
    perform inbox.security_officer();
    delete from inbox_pending p
        where p.kind = 'release' and p.id = request and p.txid = txid_current();
    if not found then
        raise exception 'the release was not begun in this transaction' using errcode = 'insufficient_privilege';
    end if;
    select * into r from release_requests q where q.request_id = request;
    if r.requested_by = inbox.me() then
        raise exception 'a release needs a second person' using errcode = 'insufficient_privilege';
    end if;
    select * into f from attachments a where a.attachment_id = r.attachment_id;
    decided := case when finding is null then 'released' else 'still_infected' end;
    update release_requests q set decided_by = inbox.me(), decided_at = now(), decision = decided,
        decision_note = left(finding, 2000)
        where q.request_id = request;
    if decided = 'released' then
        -- What inspection said stays on the file for the caseworker.
        update attachments a set verdict = 'clean', scanned_at = now(),
            verdict_detail = 'released after review; was ' || r.previous_verdict
                || coalesce(': ' || r.previous_detail, ''),
            released_by_request = request
            where a.attachment_id = r.attachment_id;
    else
        update attachments a set verdict = 'infected', verdict_detail = left(finding, 2000),
            scanned_at = now()
            where a.attachment_id = r.attachment_id;
    end if;
    perform inbox.audit_as('security_officer', case when decided = 'released' then 'release_approved' else 'release_blocked_by_scan' end,
        f.supplement_id, jsonb_build_object(
            'attachment_id', r.attachment_id, 'request_id', request, 'requested_by', r.requested_by,
            'reason', r.reason, 'previous_verdict', r.previous_verdict, 'found', finding));
    return decided;
end
$$;

-- Turning a request down (anyone of the officers; the one who asked
-- withdraws it this way).
create function inbox.reject_release(request uuid, note text) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    r release_requests%rowtype;
    f attachments%rowtype;
    why text;
begin
    perform inbox.security_officer();
    why := inbox.check_reason(note);
    select * into r from release_requests q where q.request_id = request and q.decided_at is null
        for update;
    if not found then
        raise exception 'no such open release request' using errcode = 'no_data_found';
    end if;
    select * into f from attachments a where a.attachment_id = r.attachment_id;
    update release_requests q set decided_by = inbox.me(), decided_at = now(), decision = 'rejected',
        decision_note = why
        where q.request_id = request;
    perform inbox.audit_as('security_officer', 'release_rejected', f.supplement_id, jsonb_build_object(
        'attachment_id', r.attachment_id, 'request_id', request, 'note', why));
end
$$;

-- A look at quarantine (the list or one file's page) is on record.
create function inbox.record_quarantine_look(detail jsonb) returns void
language plpgsql volatile
security definer
set search_path = pg_catalog, public, pg_temp
as $$
begin
    if not inbox.i_am('security_officer') then
        return;
    end if;
    perform inbox.audit_as('security_officer', 'look_quarantine', (detail->>'supplement_id')::uuid,
        coalesce(detail, '{}'));
end
$$;

revoke all on all functions in schema inbox from public;
grant select on inbox.quarantine to intake_inbox_access;
grant execute on function inbox.record_quarantine_look(jsonb) to intake_inbox_access;
grant execute on function inbox.open_for_analysis(uuid, text), inbox.request_release(uuid, text),
    inbox.begin_release(uuid), inbox.finish_release(uuid, text), inbox.reject_release(uuid, text)
    to intake_inbox_access;
