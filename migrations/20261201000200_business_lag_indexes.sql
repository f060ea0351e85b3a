-- Business lag (`intake lag --serve`) asks what waits every few seconds:
-- these keep its triage and receipt questions to what is unfinished
-- instead of every supplement and receipt ever recorded.
create index supplements_awaiting_triage on supplements (arrived_at)
    where outcome in ('triage', 'unprocessable');
create index receipts_unsent on receipts (state)
    where state in ('pending', 'sending', 'held', 'failed');
