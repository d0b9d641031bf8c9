-- Roles and database of a Tally deployment, run by a superuser with
--   psql -v owner_pw=... -v app_pw=... -v ingest_pw=... -f pg-bootstrap.sql
-- Idempotent: what exists is left as it is (passwords included), what is
-- missing is created, so it also brings an older deployment's roles up to
-- date before `tally migrate`.
--   tally_owner  owns the schema; runs `tally migrate` and `tally admin`
--                (BYPASSRLS: break-glass, and what lets SECURITY DEFINER
--                functions such as the API key lookup read across tenants).
--   tally_app    serve: no ownership, no BYPASSRLS, so row-level security
--                applies to every query it makes.
--   tally_ingest ingest: BYPASSRLS, because COPY cannot write into a table
--                with row-level security; it writes the tenant id of each
--                message's subject into every row (docs/architecture.md).
SELECT format('CREATE ROLE %I LOGIN %s PASSWORD %L', r.name, r.attrs, r.pw)
  FROM (VALUES ('tally_owner', 'BYPASSRLS', :'owner_pw'),
               ('tally_app', '', :'app_pw'),
               ('tally_ingest', 'BYPASSRLS', :'ingest_pw')) AS r(name, attrs, pw)
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) \gexec
SELECT 'CREATE DATABASE tally OWNER tally_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'tally') \gexec
\connect tally
ALTER SCHEMA public OWNER TO tally_owner;
