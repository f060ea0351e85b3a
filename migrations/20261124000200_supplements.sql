-- Supplements and their attachments, the per-application sequence that
-- gives caseworkers arrival order, and the quarantine record.

create table supplements (
    supplement_id     uuid primary key,
    -- The inbound event that carried it (CloudEvents id).
    event_id          uuid not null unique,
    channel           text not null check (channel in ('securemail', 'enter_finland')),
    transport         text check (transport in ('securemail', 'email')),
    sender            text,
    customer_number   text,
    arrived_at        timestamptz not null,
    language          text check (language in ('fi', 'sv', 'en')),
    outcome           text not null check (outcome in ('routed', 'triage', 'quarantined', 'duplicate', 'refused')),
    application_id    text references applications (application_id) on delete restrict,
    -- Position in the application's queue; set when routed.
    sequence          bigint check (sequence >= 1),
    unit              text,
    confidential      boolean not null default false,
    request_id        text,
    -- An applicant's resend: linked to the original, never routed twice.
    duplicate_of      uuid references supplements (supplement_id),
    -- Same attachments as an earlier supplement with new text: routed, flagged.
    possible_resend_of uuid references supplements (supplement_id),
    flags             jsonb not null default '[]',
    triage_reasons    jsonb,
    -- Claim check of the decrypted text kept for the caseworker.
    text_bucket       text,
    text_key          text,
    -- Which age identity opened the payload (key rotation audit).
    decrypted_with    text,
    receipt_reference text not null unique,
    created_at        timestamptz not null default now(),
    unique (application_id, sequence),
    check ((outcome = 'routed') = (sequence is not null)),
    check (outcome <> 'duplicate' or duplicate_of is not null)
);

create index supplements_queue on supplements (unit, application_id, sequence) where outcome = 'routed';
create index supplements_triage on supplements (arrived_at) where outcome = 'triage';

create table attachments (
    attachment_id   uuid primary key,
    supplement_id   uuid not null references supplements (supplement_id) on delete cascade,
    ordinal         integer not null check (ordinal >= 0),
    filename        text not null,
    declared_type   text,
    detected_type   text,
    size            bigint not null check (size >= 0),
    sha256          text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    bucket          text not null,
    object_key      text not null,
    -- clean | infected | dangerous | refused; never 'clean' without a scan.
    verdict         text not null check (verdict in ('clean', 'infected', 'dangerous', 'refused')),
    verdict_detail  text,
    scanned_at      timestamptz,
    unique (supplement_id, ordinal),
    check (verdict <> 'clean' or scanned_at is not null)
);

create index attachments_sha256 on attachments (sha256);

-- The next sequence number per application, taken with SELECT ... FOR UPDATE
-- in the routing transaction, so numbers have no gaps and no repeats.
create table application_sequences (
    application_id text primary key references applications (application_id),
    last_sequence  bigint not null default 0 check (last_sequence >= 0)
);
