-- Whenever arrivals are finished (an outcome recorded, a dead letter) or
-- a claim is withdrawn (a failed upload), every worker's arrival gate is
-- told at once, whoever did it: one notification per statement, delivered
-- at commit.
create function notify_arrivals() returns trigger
language plpgsql
as $$
begin
    perform pg_notify('intake_arrivals', '');
    return null;
end
$$;

create trigger ingest_claims_finished
    after update of finished_at or delete on ingest_claims
    for each statement execute function notify_arrivals();
