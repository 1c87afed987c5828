-- Roles and grants for Yaritori on PostgreSQL (15 or later: this script uses psql's \getenv).
--
-- yaritori_owner  owns the database, the schema and every table. Only migrations connect as
--                 it (DATABASE_OWNER_URL); web, worker and beat never hold its password.
-- yaritori_app    what web, worker and beat connect as (DATABASE_URL): SELECT, INSERT, UPDATE,
--                 DELETE on ordinary tables, but only SELECT and INSERT on the ledger tables.
--
-- Run it as a superuser, connected to the Yaritori database, with the two passwords in the
-- environment (never in this file):
--   * compose: the postgres image runs it from /docker-entrypoint-initdb.d on its first start,
--     as POSTGRES_USER against POSTGRES_DB (see deploy/compose.yaml);
--   * a VM:    sudo --preserve-env=YARITORI_OWNER_PASSWORD,YARITORI_APP_PASSWORD -u postgres \
--                psql -v ON_ERROR_STOP=1 -d yaritori -f deploy/postgres/init-roles.sql
-- It is safe to run again: it then resets the passwords and re-applies every grant and revoke,
-- which also repairs the grants of tables that already exist.
--
-- The audit tables have two walls. Triggers created by the migrations refuse UPDATE, DELETE and
-- TRUNCATE for every role, the owner included; these grants are the second wall, so that a bug
-- or a stolen app password cannot even ask. Default privileges cannot tell tables apart by
-- name, so an event trigger (below) revokes UPDATE, DELETE and TRUNCATE from yaritori_app on
-- each ledger table as it is created or altered. After every migration, still check the grants
-- (docs/deploy.md), or run `python manage.py audit_grants`.

\set ON_ERROR_STOP on
\set QUIET on

\getenv owner_password YARITORI_OWNER_PASSWORD
\getenv app_password YARITORI_APP_PASSWORD
\if :{?owner_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'YARITORI_OWNER_PASSWORD is not set'; END $$;
\endif
\if :{?app_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'YARITORI_APP_PASSWORD is not set'; END $$;
\endif
SELECT length(:'owner_password') < 16 AS owner_password_short,
       length(:'app_password') < 16 AS app_password_short,
       EXISTS (SELECT FROM pg_roles WHERE rolname = 'yaritori_owner') AS has_owner,
       EXISTS (SELECT FROM pg_roles WHERE rolname = 'yaritori_app') AS has_app
\gset
\if :owner_password_short
  DO $$ BEGIN RAISE EXCEPTION 'YARITORI_OWNER_PASSWORD must be at least 16 characters'; END $$;
\endif
\if :app_password_short
  DO $$ BEGIN RAISE EXCEPTION 'YARITORI_APP_PASSWORD must be at least 16 characters'; END $$;
\endif

BEGIN;

-- Roles -----------------------------------------------------------------------------------------
\if :has_owner
  ALTER ROLE yaritori_owner LOGIN PASSWORD :'owner_password';
\else
  CREATE ROLE yaritori_owner LOGIN PASSWORD :'owner_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
\endif
\if :has_app
  ALTER ROLE yaritori_app LOGIN PASSWORD :'app_password';
\else
  CREATE ROLE yaritori_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
\endif

-- Database and schema: the owner creates tables, the app may only use them ---------------------
ALTER DATABASE :"DBNAME" OWNER TO yaritori_owner;
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO yaritori_app;
ALTER SCHEMA public OWNER TO yaritori_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO yaritori_app;

-- Tables the owner creates from now on (that is, every migration) ------------------------------
ALTER DEFAULT PRIVILEGES FOR ROLE yaritori_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO yaritori_app;
ALTER DEFAULT PRIVILEGES FOR ROLE yaritori_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO yaritori_app;

-- Tables that already exist (when this script is run again after migrations) -------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO yaritori_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO yaritori_app;

-- ledger tables (audit.db_guards.LEDGER_TABLES): SELECT and INSERT only --------------------------------------------------------
-- The guard lives in a schema of its own, owned by the superuser running this script, so that
-- yaritori_owner (which owns schema public) cannot drop or replace it.
CREATE SCHEMA IF NOT EXISTS yaritori_guard;
REVOKE ALL ON SCHEMA yaritori_guard FROM PUBLIC;

-- On each CREATE or ALTER of a table, revoke UPDATE, DELETE and TRUNCATE from yaritori_app if
-- it is a ledger table (other audit_* tables, such as alert triage, may be updated). It runs as whoever ran the DDL (the table's owner, in a migration),
-- and an owner may revoke what its default privileges granted.
CREATE OR REPLACE FUNCTION yaritori_guard.audit_tables_append_only()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
  tbl regclass;
BEGIN
  FOR tbl IN
    SELECT DISTINCT c.oid::regclass
    FROM pg_event_trigger_ddl_commands() AS cmd
    JOIN pg_class AS c ON c.oid = cmd.objid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE cmd.classid = 'pg_class'::regclass
      AND n.nspname = 'public'
      AND c.relkind IN ('r', 'p')
      AND c.relname = ANY (ARRAY['audit_ledgerintake', 'audit_ledgerentry', 'audit_merklesubtree',
                             'audit_checkpoint', 'audit_witnesscosignature'])
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON TABLE %s FROM yaritori_app', tbl);
  END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS yaritori_audit_append_only;
CREATE EVENT TRIGGER yaritori_audit_append_only ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
  EXECUTE FUNCTION yaritori_guard.audit_tables_append_only();

-- The same for ledger tables that already exist.
DO $$
DECLARE
  tbl regclass;
BEGIN
  FOR tbl IN
    SELECT c.oid::regclass
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND c.relkind IN ('r', 'p')
      AND c.relname = ANY (ARRAY['audit_ledgerintake', 'audit_ledgerentry', 'audit_merklesubtree',
                             'audit_checkpoint', 'audit_witnesscosignature'])
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON TABLE %s FROM yaritori_app', tbl);
  END LOOP;
END
$$;

COMMIT;

\unset owner_password
\unset app_password
\echo 'yaritori_owner and yaritori_app are ready'
