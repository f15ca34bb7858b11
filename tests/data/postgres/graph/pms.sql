CREATE SCHEMA admin;
COMMENT ON SCHEMA admin IS 'data_class=administrative';
CREATE TABLE admin.invoices (id bigint PRIMARY KEY, patient_id bigint, amount_cents integer);
GRANT USAGE ON SCHEMA admin TO front_desk, view_reader, chain_reader, definer_caller, inheriting_member,
    set_role_member, role_maker, future_reader, archive_reader;
GRANT SELECT ON admin.invoices TO front_desk, view_reader, chain_reader, definer_caller, inheriting_member,
    set_role_member, role_maker, future_reader, archive_reader;

-- The clinical schema, built by its owner. Default privileges give future_reader every table
-- clinical_owner creates there: allergies, created after, is granted by the default.
CREATE SCHEMA clinical AUTHORIZATION clinical_owner;
CREATE SCHEMA archive AUTHORIZATION clinical_owner;
COMMENT ON SCHEMA clinical IS 'data_class=clinical';
SET ROLE clinical_owner;
CREATE TABLE clinical.notes (id bigint PRIMARY KEY, patient_id bigint, body text);
-- Observations partitioned by year, the oldest kept in an archive schema nobody classified;
-- and an inheritance child of the notes there too.
CREATE TABLE clinical.observations (taken_on date, patient_id bigint, value text) PARTITION BY RANGE (taken_on);
CREATE TABLE archive.observations_2019 PARTITION OF clinical.observations
    FOR VALUES FROM ('2019-01-01') TO ('2020-01-01');
CREATE TABLE archive.notes_2018 () INHERITS (clinical.notes);
ALTER DEFAULT PRIVILEGES IN SCHEMA clinical GRANT SELECT ON TABLES TO future_reader;
CREATE TABLE clinical.allergies (patient_id bigint, substance text);
GRANT USAGE ON SCHEMA clinical TO clinical_group, future_reader;
GRANT SELECT ON clinical.notes, clinical.observations TO clinical_group;
RESET ROLE;

-- Reports: views over the notes, one with its owner's rights, one with the reader's.
CREATE SCHEMA reports;
COMMENT ON SCHEMA reports IS 'Reports for the front desk.';
CREATE VIEW reports.v_notes AS SELECT id, patient_id FROM clinical.notes;
CREATE VIEW reports.v_notes_invoker WITH (security_invoker = true) AS SELECT id, patient_id FROM clinical.notes;
ALTER VIEW reports.v_notes OWNER TO clinical_owner;
ALTER VIEW reports.v_notes_invoker OWNER TO clinical_owner;
CREATE VIEW reports.v_notes_per_patient AS SELECT patient_id, count(*) AS notes FROM reports.v_notes GROUP BY 1;
ALTER VIEW reports.v_notes_per_patient OWNER TO report_owner;
CREATE VIEW reports.v_invoice_totals AS SELECT patient_id, sum(amount_cents) AS total FROM admin.invoices GROUP BY 1;
-- Materialized views store rows of their own, classified like what they read.
CREATE MATERIALIZED VIEW reports.mv_note_counts AS SELECT patient_id, count(*) AS notes FROM reports.v_notes GROUP BY 1;
CREATE MATERIALIZED VIEW reports.mv_invoice_totals AS SELECT sum(amount_cents) AS total FROM admin.invoices;
-- A function counting a patient's notes, running with its owner's rights.
CREATE FUNCTION reports.note_count(patient bigint) RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS 'SELECT count(*) FROM clinical.notes WHERE patient_id = patient';
ALTER FUNCTION reports.note_count(bigint) OWNER TO clinical_owner;
REVOKE EXECUTE ON FUNCTION reports.note_count(bigint) FROM PUBLIC;

GRANT USAGE ON SCHEMA reports TO front_desk, view_reader, chain_reader, definer_caller, report_owner;
GRANT SELECT ON reports.v_notes_invoker, reports.v_invoice_totals, reports.mv_invoice_totals TO front_desk;
GRANT SELECT ON reports.v_notes TO view_reader, report_owner;
GRANT SELECT ON reports.v_notes_per_patient TO chain_reader;
GRANT EXECUTE ON FUNCTION reports.note_count(bigint) TO definer_caller;
