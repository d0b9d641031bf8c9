-- device_software.version_key becomes an order-preserving bytea: each run of
-- ASCII digits of the version (its first 9 digits, as before) as 4
-- big-endian bytes, in order. bytea compares bytewise and a prefix first,
-- so the order is the int[]'s ({9,10} after {9,9}, {1,2} before {1,2,0}).
--
-- The int[] made the index (tenant_id, software_id, version_key) the dearest
-- part of writing device_software: an array comparison goes through the
-- element type's comparison function element by element. COPYing 244,754
-- rows into a copy of the table with its indexes took 1.70-1.81 s with
-- bytea, 2.36-2.74 s with int[].
--
-- Queries compare with tally_version_key() of the bound:
--   version_key < tally_version_key('120')
-- The table is rewritten and the index rebuilt; writes to device_software
-- wait while the migration runs, and an ingest binary from before it fails
-- its fetches with software rows (they wait in JetStream) until it is
-- replaced: migrate, then roll ingest.
DROP INDEX device_software_by_version;
DROP FUNCTION tally_version_key(text);
CREATE FUNCTION tally_version_key(v text) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(string_agg(int4send(left(m[1], 9)::int), ''::bytea ORDER BY ord), ''::bytea)
    FROM regexp_matches(coalesce(v, ''), '[0-9]+', 'g') WITH ORDINALITY AS t(m, ord)
$$;
GRANT EXECUTE ON FUNCTION tally_version_key(text) TO tally_app, tally_ingest;
ALTER TABLE device_software ALTER COLUMN version_key TYPE bytea USING tally_version_key(version);
CREATE INDEX device_software_by_version ON device_software (tenant_id, software_id, version_key);
