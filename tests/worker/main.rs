//! The worker on the real stack: the generator's full mix through gateway
//! and worker compared outcome by outcome with the manifest, with the
//! worker killed along the way; the virus scanner stopped mid-run; and
//! arrival order across the two channels.

mod arrival_order;
mod broker_outage;
mod dead_letters;
mod full_mix;
mod group_commit;
mod hostile;
mod large_mail;
mod operations;
mod outbox;
mod reconcile;
mod replay;
mod rescan;
mod sandbox;
mod scanner_outage;
mod sealed;
mod store;
mod support;
