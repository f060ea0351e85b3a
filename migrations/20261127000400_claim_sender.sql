-- The envelope sender of an e-mail, recorded with its arrival. Where only a
-- party's mail can be routed (the default non-party policy), an e-mail not
-- yet matched can only belong to its sender's applications, so the arrival
-- gate holds only those behind it, not every application.
alter table ingest_claims add column sender text;
