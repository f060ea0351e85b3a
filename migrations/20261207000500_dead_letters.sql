-- Every dead letter on record beside the dead-letter topic: what operators
-- list, show and replay (`intake dlq`), long after the topic's retention.
-- A record's origin and payload name it: the same record parked again (a redelivery)
-- counts an attempt on its row instead of adding one, and a replayed copy
-- that fails again comes back to the row it was replayed from.
create table dead_letters (
    id               uuid primary key,
    -- The service that parked it: 'worker' or 'receipts'.
    service          text not null,
    -- What kind of failure: 'undecodable', 'failed', 'refused'.
    reason           text not null,
    -- The last failure's message (never the payload).
    error            text not null,
    origin_topic     text not null,
    origin_partition integer not null,
    origin_offset    bigint not null,
    supplement_id    uuid,
    -- The record as it arrived, for a replay: never shown in a listing.
    record_key       bytea,
    header_names     text[] not null,
    header_values    bytea[] not null,
    payload          bytea not null,
    attempts         integer not null default 1 check (attempts > 0),
    first_failed_at  timestamptz not null default now(),
    last_failed_at   timestamptz not null default now(),
    replays          integer not null default 0 check (replays >= 0),
    -- open: waits for an operator; replaying: a copy is on its way back to
    -- its origin topic; replayed: that copy was processed; quarantined:
    -- it failed again after the last replay allowed and is not replayed.
    state            text not null default 'open'
                     check (state in ('open', 'replaying', 'replayed', 'quarantined')),
    -- When the replaying copy was handed to the broker (null: not yet).
    replay_sent_at   timestamptz,
    -- With the origin, what names a record: after a topic is recreated
    -- its offsets start again, and another record at the same place is
    -- a letter of its own.
    payload_sha256   bytea generated always as (sha256(payload)) stored,
    unique (origin_topic, origin_partition, origin_offset, payload_sha256),
    check (cardinality(header_names) = cardinality(header_values))
);

create index dead_letters_by_state on dead_letters (state, first_failed_at, id);
