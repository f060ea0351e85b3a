-- Over the per-address rate limit a receipt is held, not suppressed: the
-- applicant (or a representative writing for many) is owed an answer.
-- Held receipts are combined into one carrier receipt that lists every
-- reference once the limit allows another mail. The limit counts mails
-- admitted for sending (`admitted_at`), so a carrier released later counts
-- when it is released.
alter table receipts drop constraint receipts_state_check;
alter table receipts add constraint receipts_state_check
    check (state in ('pending', 'sending', 'sent', 'failed', 'suppressed', 'held', 'combined'));
alter table receipts
    add column combined_into uuid references receipts (receipt_id),
    add column admitted_at   timestamptz,
    add constraint receipts_combined_check check ((state = 'combined') = (combined_into is not null));
update receipts set admitted_at = created_at where state <> 'suppressed';

create index receipts_admitted on receipts (recipient_key, admitted_at) where admitted_at is not null;
create index receipts_held on receipts (recipient_key, created_at) where state = 'held';
create index receipts_carried on receipts (combined_into) where combined_into is not null;
