-- Every way a role may reach clinical rows besides a grant on the table, each beside a login
-- that reads administrative data (so that reaching clinical data breaks segmentation).
CREATE ROLE clinical_owner NOLOGIN;   -- owns the clinical schema, its tables and the views over them
CREATE ROLE report_owner NOLOGIN;     -- owns a view built on one of those views
CREATE ROLE clinical_group NOLOGIN;   -- reads clinical tables by name
CREATE ROLE front_desk LOGIN;         -- administrative data, a security_invoker view, a totals view
CREATE ROLE view_reader LOGIN;        -- a view over clinical notes, with its owner's rights
CREATE ROLE chain_reader LOGIN;       -- a view of that view
CREATE ROLE definer_caller LOGIN;     -- may run a SECURITY DEFINER function owned by clinical_owner
CREATE ROLE inheriting_member LOGIN;  -- inherits clinical_group
CREATE ROLE set_role_member LOGIN NOINHERIT;  -- may SET ROLE clinical_group
CREATE ROLE all_data_reader LOGIN;    -- member of pg_read_all_data
CREATE ROLE program_runner LOGIN;     -- member of pg_execute_server_program
CREATE ROLE role_maker LOGIN CREATEROLE;      -- CREATEROLE and nothing else
CREATE ROLE future_reader LOGIN;      -- gets clinical tables through default privileges
CREATE ROLE archive_reader LOGIN;     -- clinical data in the archive database
CREATE ROLE replicator LOGIN REPLICATION;  -- streams the whole cluster to a standby
GRANT clinical_group TO inheriting_member, set_role_member;
GRANT pg_read_all_data TO all_data_reader;
GRANT pg_execute_server_program TO program_runner;
