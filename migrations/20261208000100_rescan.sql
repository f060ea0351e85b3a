-- Files scanned again with newer signatures (`intake rescan`): when each
-- was last scanned so, and when one delivered clean turned out infected
-- (its verdict is then `infected` and its object in the quarantine bucket).
alter table attachments add column rescanned_at timestamptz;
alter table attachments add column infected_after_delivery_at timestamptz;
-- Kept when a security officer releases the file as a false positive:
-- it was found once, and the count the alert watches must not fall.

-- What a rescan walks: files delivered clean, by when they were scanned.
create index attachments_clean_by_scan on attachments (scanned_at, attachment_id)
    where verdict = 'clean';
