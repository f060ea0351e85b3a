-- Idempotency of the ingest gateway: a retried request (same channel and
-- Idempotency-Key, or the channel's own message id) gets the same supplement
-- id and produces nothing new.
create table ingest_claims (
    channel         text not null check (channel in ('securemail', 'enter_finland')),
    idempotency_key text not null check (length(idempotency_key) between 1 and 1000),
    supplement_id   uuid not null unique,
    state           text not null check (state in ('in_progress', 'accepted')),
    claimed_at      timestamptz not null default now(),
    accepted_at     timestamptz,
    primary key (channel, idempotency_key),
    check ((state = 'accepted') = (accepted_at is not null))
);
