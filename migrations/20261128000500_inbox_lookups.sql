-- Lookups on masked columns cannot use an index through `inbox.supplements`
-- (the column is a CASE over the visibility rule), so each would walk every
-- visible row. These find candidates by the stored column and keep only
-- what the view shows the signed-in person.

create index supplements_duplicate_of on supplements (duplicate_of) where duplicate_of is not null;

-- The resends linked to a supplement, as the signed-in person may see them.
create function inbox.duplicates_of(id uuid) returns setof uuid
language sql stable
security definer
set search_path = pg_catalog, public, pg_temp
as $$
    select v.supplement_id
    from supplements s
    join inbox.supplements v on v.supplement_id = s.supplement_id
    where s.duplicate_of = id and v.duplicate_of = id
    order by v.arrived_at, v.supplement_id
$$;

revoke all on function inbox.duplicates_of(uuid) from public;
grant execute on function inbox.duplicates_of(uuid) to intake_inbox_access;
