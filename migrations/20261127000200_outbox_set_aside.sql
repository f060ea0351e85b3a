-- A row that keeps failing to publish is set aside (with an alert) instead
-- of being retried in front of every other row for ever. Later rows of the
-- same topic and key wait behind it, so a key's events never overtake.
alter table outbox add column set_aside_at timestamptz;
create index outbox_set_aside on outbox (topic, message_key, id)
    where set_aside_at is not null and sent_at is null;
