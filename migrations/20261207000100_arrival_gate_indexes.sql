-- The arrival gate asks aggregate questions ("the earliest unfinished
-- arrival that may belong to application A") instead of reading every
-- unfinished claim: each is one step down one of these indexes.
create index ingest_claims_unfinished_by_application
    on ingest_claims (application_id, arrived_at, supplement_id)
    where finished_at is null;
create index ingest_claims_unfinished_by_sender
    on ingest_claims (sender, arrived_at, supplement_id)
    where finished_at is null and application_id is null;
create index ingest_claims_unfinished_unmatched
    on ingest_claims (arrived_at, supplement_id)
    where finished_at is null and application_id is null;
