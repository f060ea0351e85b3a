-- A receipt that was sent but bounced: the bounce (a delivery status
-- notification quoting the receipt's Message-ID and naming its recipient)
-- marks the delivery as failed, with the bounce's reason for operators.
alter table receipts
    add column delivery_failed_at timestamptz,
    add column delivery_failure   text;
