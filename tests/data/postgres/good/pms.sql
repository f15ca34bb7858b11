-- Identities and bookkeeping: classified once, by the schema's comment.
CREATE SCHEMA admin;
COMMENT ON SCHEMA admin IS 'Administrative data of the practice. data_class=administrative';
CREATE TABLE admin.patients (
    id bigint PRIMARY KEY, family_name text, given_name text, birth_date date,
    address text, city text, phone text, email text, social_security_number text);
CREATE TABLE admin.appointments (
    id bigint PRIMARY KEY, patient_id bigint REFERENCES admin.patients, starts_at timestamptz,
    practitioner text, reason_code text);
CREATE TABLE admin.invoices (
    id bigint PRIMARY KEY, patient_id bigint REFERENCES admin.patients, issued_at date,
    amount_cents integer);

-- Clinical data apart, row-level security forced, payloads encrypted by the application.
CREATE SCHEMA clinical;
COMMENT ON SCHEMA clinical IS 'data_class=clinical';
CREATE TABLE clinical.consultation_notes (
    id bigint PRIMARY KEY, patient_id bigint, practice_id integer, written_at timestamptz,
    author text, note_ciphertext bytea);
COMMENT ON TABLE clinical.consultation_notes IS 'Doctors'' notes, encrypted per practice. data_class=clinical_notes';
CREATE TABLE clinical.prescriptions (
    id bigint PRIMARY KEY, patient_id bigint, practice_id integer, drug text, dosage text,
    prescribed_at date);
CREATE TABLE clinical.lab_results (
    id bigint PRIMARY KEY, patient_id bigint, practice_id integer, received_at timestamptz,
    result_payload bytea);
ALTER TABLE clinical.consultation_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE clinical.consultation_notes FORCE ROW LEVEL SECURITY;
ALTER TABLE clinical.prescriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE clinical.prescriptions FORCE ROW LEVEL SECURITY;
ALTER TABLE clinical.lab_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE clinical.lab_results FORCE ROW LEVEL SECURITY;
CREATE POLICY same_practice ON clinical.consultation_notes
    USING (practice_id = current_setting('pms.practice_id')::integer);

GRANT USAGE ON SCHEMA admin TO pms_admin_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA admin TO pms_admin_app;
GRANT USAGE ON SCHEMA clinical TO pms_clinical_app, clinical_readers;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA clinical TO pms_clinical_app;
GRANT SELECT ON clinical.lab_results TO clinical_readers;
-- public stays empty and closed to PUBLIC.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
