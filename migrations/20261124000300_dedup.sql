-- Exactly-once processing of inbound events, and detection of resends.

-- An inbound event id is processed once: inserted in the same transaction as
-- the effects, so a redelivered event finds it and does nothing.
create table processed_events (
    event_id     uuid primary key,
    topic        text not null,
    partition    integer not null,
    "offset"     bigint not null,
    processed_at timestamptz not null default now()
);

-- Fingerprints of what applicants sent, per application. 'full' covers the
-- normalised text and the sorted attachment hashes (an exact resend);
-- 'attachments' covers the attachment hashes alone (same files, new text).
create table dedup_fingerprints (
    application_id text not null references applications (application_id),
    kind           text not null check (kind in ('full', 'attachments')),
    fingerprint    bytea not null check (octet_length(fingerprint) = 32),
    supplement_id  uuid not null references supplements (supplement_id) on delete cascade,
    received_at    timestamptz not null,
    primary key (application_id, kind, fingerprint, supplement_id)
);

-- Lookups are "the earliest supplement with this fingerprint within the window".
create index dedup_lookup on dedup_fingerprints (application_id, kind, fingerprint, received_at);
