-- The functions that join a fetch's staging tables to tables that grow
-- (device_software, devices, device_patches) probe those tables by key
-- from the staged rows whatever the statistics say: they now also turn off
-- plain and index-only scans, so that a probe is a bitmap scan of the key.
--
-- They already turned off sequential scans and hash and merge joins. One
-- plan was left: the grown table read whole through its key index as the
-- outer side of a nested loop, the staged rows (the disabled sequential
-- scan) rescanned as the inner side for each of its rows. Both orders then
-- carry one disabled scan, and the planner takes that one whenever it
-- believes the grown table holds a row or so: statistics taken while it was
-- empty (a new deployment, all rows deleted), or a plan made then and kept
-- (PL/pgSQL keeps a statement's plan for the life of the connection until
-- an ANALYZE of a table it reads, and an ingest connection lives for days).
-- The DELETE of 2,000 staged rows from a copy of device_software, planned
-- when it was empty and run again at 200,000 rows, took 53 s; one drain of
-- many took 126 s instead of 25 s, 118 s of it PostgreSQL's CPU, before this
-- was understood. With plain index scans off, reading the grown table whole
-- is a disabled scan too, so that order carries two and the one that drives
-- from the staged rows wins at any estimate. integration.stale_plans checks
-- each such statement's plan after the tables grew under one connection.
ALTER FUNCTION tally_ingest_software(uuid[], bigint[])
  SET enable_indexscan = off SET enable_indexonlyscan = off;
ALTER FUNCTION tally_ingest_devices() SET enable_indexscan = off SET enable_indexonlyscan = off;
