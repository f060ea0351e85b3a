-- no-transaction
-- Unmatched e-mail, by sender: where only a party's mail can be routed,
-- it can hold only its sender's applications.
create index concurrently if not exists ingest_claims_unfinished_by_sender
    on ingest_claims (sender, arrived_at, supplement_id)
    where finished_at is null and application_id is null;
