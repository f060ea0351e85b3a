-- no-transaction
-- The arrival gate asks aggregate questions ("the earliest unfinished
-- arrival that may belong to application A") instead of reading every
-- unfinished claim: each is one step down one of these indexes. Built
-- concurrently (one per migration, outside a transaction) so the gateway
-- goes on claiming arrivals while they build.
create index concurrently if not exists ingest_claims_unfinished_by_application
    on ingest_claims (application_id, arrived_at, supplement_id)
    where finished_at is null;
