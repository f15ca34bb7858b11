"""The smallest role that can run a scan, as a list and as ready-to-apply SQL.

It holds no privilege on any table or schema: the scan reads catalogs and settings and asks
the server's privilege functions about other roles, so it cannot read patient data even by
mistake.
"""

from __future__ import annotations

SCANNER_ROLE = "phigate_scanner"

PERMISSIONS: tuple[str, ...] = (
    "a LOGIN role with no privilege on any table or schema",
    "pg_read_all_settings (shows shared_preload_libraries: whether pgaudit is loaded)",
    "SELECT on pg_catalog.pg_hba_file_rules and EXECUTE on pg_catalog.pg_hba_file_rules(), "
    "in the database the connection string names",
    "CONNECT on every database scanned",
    "SELECT on public.phigate_md5_password_roles, a view a superuser owns, in the database the "
    "connection string names: the names of the roles whose stored password is an MD5 hash "
    "(pg_authid is the superuser's alone; no hash leaves the server)",
    "reads open to every role: pg_settings, pg_roles, pg_auth_members, pg_database, pg_namespace, "
    "pg_class, pg_attribute, pg_type, pg_rewrite, pg_depend, pg_inherits, pg_default_acl, pg_proc, "
    "pg_trigger, pg_event_trigger, pg_foreign_server, pg_foreign_table, pg_user_mappings (not their "
    "options), pg_largeobject_metadata, pg_parameter_acl, comments, and the has_*_privilege / "
    "pg_has_role functions",
)

_SQL = """\
-- phigate: the smallest PostgreSQL role that can run a scan. It reads catalogs and settings
-- in read-only transactions and holds no privilege on any table or schema.
-- Run as a superuser, connected to the database phigate's connection string names.
CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    CONNECTION LIMIT 4;
-- Give it a password without writing one here (psql: \\password {role}), or use certificates.
ALTER ROLE {role} SET default_transaction_read_only = on;

-- Settings hidden from ordinary roles: shared_preload_libraries tells whether pgaudit is loaded.
GRANT pg_read_all_settings TO {role};

-- pg_hba.conf as the server reads it (TLS for clinical databases). These two grants belong to
-- one database: give them in the database the connection string names.
GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {role};
GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO {role};

-- Roles whose stored password is still an MD5 hash (PHI-AUTH-003): the hashes are in pg_authid,
-- which only superusers read. This view runs with the rights of the superuser running this file
-- and shows role names only, never a hash. Create it in the database the connection string names.
CREATE OR REPLACE VIEW public.phigate_md5_password_roles AS
    SELECT rolname FROM pg_catalog.pg_authid WHERE rolpassword LIKE 'md5%';
REVOKE ALL ON public.phigate_md5_password_roles FROM PUBLIC;
GRANT SELECT ON public.phigate_md5_password_roles TO {role};

-- CONNECT on every database to scan (here every database that accepts connections today;
-- grant it again for databases created later).
DO $grant$
DECLARE
    db name;
BEGIN
    FOR db IN SELECT datname FROM pg_catalog.pg_database WHERE datallowconn LOOP
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', db);
    END LOOP;
END
$grant$;
"""


_SAMPLING_SQL = """
-- Content sampling (--sample-content) reads a few rows of each non-clinical table. Grant USAGE
-- on their schemas and SELECT on those tables only, never on clinical ones, for example:
{example}
-- A table with row-level security is sampled only if the role may read every row: BYPASSRLS,
-- or a permissive policy for it. Otherwise its sample is an error, never a clean pass.
"""


def permissions_sql(role: str = SCANNER_ROLE) -> str:
    return _SQL.format(role=role)


def sampling_sql(role: str = SCANNER_ROLE) -> str:
    """What content sampling adds to :func:`permissions_sql`: commented grants to adapt (which
    tables are not clinical is the estate's to say)."""
    from phigate_providers.postgres.sampling import grant_sql

    example = grant_sql([("billing", "invoices"), ("billing", "appointments")], role)
    return _SAMPLING_SQL.format(example="\n".join(f"-- {line}" for line in example.splitlines()))
