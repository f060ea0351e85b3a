-- A supplement that cannot be processed still ends with an outcome of its
-- own (recorded from its event alone, shown in triage, the applicant asked
-- to send it again), beside the dead letter for operators.
alter table supplements drop constraint supplements_outcome_check;
alter table supplements add constraint supplements_outcome_check
    check (outcome in ('routed', 'triage', 'quarantined', 'duplicate', 'refused', 'unprocessable'));
create index supplements_unprocessable on supplements (arrived_at) where outcome = 'unprocessable';
