-- Roles and database of a Tally deployment; run once by a superuser with
--   psql -v owner_pw=... -v app_pw=... -f pg-bootstrap.sql
-- tally_owner owns the schema and runs `tally migrate` and `tally admin`
-- (BYPASSRLS: break-glass, and what lets SECURITY DEFINER functions such
-- as the API key lookup read across tenants). tally_app is what serve and
-- ingest use: no ownership, no BYPASSRLS, so row-level security applies.
CREATE ROLE tally_owner LOGIN BYPASSRLS PASSWORD :'owner_pw';
CREATE ROLE tally_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE tally OWNER tally_owner;
\connect tally
ALTER SCHEMA public OWNER TO tally_owner;
