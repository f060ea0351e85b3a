-- Events to publish, written in the same transaction as the state they
-- announce. A relay publishes unsent rows in id order with an idempotent
-- producer and marks them sent; a crash in between publishes again, and
-- consumers deduplicate by CloudEvents id.
create table outbox (
    id           bigint generated always as identity primary key,
    topic        text not null,
    message_key  text not null,
    -- CloudEvents headers as (name, value) pairs, in order.
    headers      jsonb not null,
    payload      jsonb not null,
    created_at   timestamptz not null default now(),
    sent_at      timestamptz,
    attempts     integer not null default 0,
    last_error   text
);

create index outbox_unsent on outbox (id) where sent_at is null;
