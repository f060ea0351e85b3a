-- no-transaction
-- The earliest unmatched arrival, which may belong to any application.
create index concurrently if not exists ingest_claims_unfinished_unmatched
    on ingest_claims (arrived_at, supplement_id)
    where finished_at is null and application_id is null;
