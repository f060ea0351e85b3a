-- The applications registry, materialised from the compacted applications.v1
-- topic. Matching reads it; the worker is its only writer.
create table applications (
    application_id    text primary key check (application_id ~ '^MIG-[0-9]{4}-[0-9]{6}-[0-9]$'),
    customer_number   text not null check (customer_number ~ '^[0-9]{8}-[0-9]$'),
    status            text not null check (status in ('pending', 'decided', 'withdrawn')),
    unit              text not null,
    confidential      boolean not null,
    language          text not null check (language in ('fi', 'sv', 'en')),
    -- Lower-cased, so sender checks are plain equality.
    contact_addresses text[] not null default '{}',
    open_requests     text[] not null default '{}',
    -- Registry version: an older record never overwrites a newer one.
    version           bigint not null check (version >= 0),
    updated_at        timestamptz not null,
    -- Where in the registry topic this state came from.
    source_partition  integer,
    source_offset     bigint
);

create index applications_customer_number on applications (customer_number);
create index applications_contact_addresses on applications using gin (contact_addresses);
