-- Which gateway attempt's stored parts the worker read. A retry that takes
-- over a stalled request stores its parts under a new attempt, and the
-- broker may hold events of both; parts of an attempt no outcome names are
-- orphans that `intake reconcile` removes.
alter table supplements add column inbound_attempt uuid;
