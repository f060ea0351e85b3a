-- What the receipt service needs to send a receipt after a restart: the
-- request it was admitted from (rendering is repeated, never stored text),
-- and the key its recipient is counted under for the rate limit. While a
-- receipt is 'sending', next_attempt_at is the sender's lease: a row still
-- 'sending' after it is an interrupted send, retried as the same message.
alter table receipts add column request jsonb not null;
alter table receipts add column recipient_key text not null;

create index receipts_by_recipient on receipts (recipient_key, created_at)
    where state <> 'suppressed';
