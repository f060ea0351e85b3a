-- Which consumer processes are alive, reported by themselves every few
-- seconds. The lag exporter counts a group's members from here when the
-- broker cannot describe its groups (or says nothing useful), so a group
-- whose every process is gone shows "stopped", and one whose processes
-- live but commit nothing shows "stalled". A process that stops cleanly
-- removes its row; one that dies stops refreshing it.
create table consumer_heartbeats (
    group_id   text not null,
    instance   text not null,
    seen_at    timestamptz not null,
    primary key (group_id, instance)
);
