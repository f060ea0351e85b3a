-- Arrival order across channels. The gateway's claim is the first record of
-- a supplement: it now carries the arrival time (taken when the request came
-- in) and, once known, the application; the worker marks it finished in the
-- transaction that records the outcome. A matched supplement waits while an
-- earlier unfinished arrival may belong to its application.
alter table ingest_claims
    add column arrived_at     timestamptz,
    add column application_id text,
    add column finished_at    timestamptz;

update ingest_claims set arrived_at = claimed_at where arrived_at is null;
alter table ingest_claims alter column arrived_at set not null;

create index ingest_claims_unfinished on ingest_claims (arrived_at) where finished_at is null;
