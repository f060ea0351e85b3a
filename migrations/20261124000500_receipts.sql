-- One receipt per supplement. The state machine and the deterministic
-- Message-ID let a sender that crashed between sending and recording find
-- out what it did instead of mailing twice.
create table receipts (
    receipt_id     uuid primary key,
    supplement_id  uuid not null unique references supplements (supplement_id),
    reference      text not null unique,
    channel        text not null check (channel in ('securemail', 'enter_finland')),
    -- e-mail address or customer number
    recipient      text not null,
    language       text check (language in ('fi', 'sv', 'en')),
    message_id     text not null unique,
    state          text not null default 'pending'
                   check (state in ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    -- Why it was suppressed (auto-reply, bounce, rate limit...) or failed.
    reason         text,
    attempts       integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    sent_at        timestamptz,
    check ((state = 'sent') = (sent_at is not null))
);

create index receipts_due on receipts (next_attempt_at) where state in ('pending', 'sending');

-- Addresses that must never get an automatic receipt.
create table receipt_suppressions (
    address    text primary key,
    reason     text not null,
    created_at timestamptz not null default now()
);
