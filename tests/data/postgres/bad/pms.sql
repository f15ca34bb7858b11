-- Everything in public, as the first version of the software put it.
CREATE TABLE public.patients (
    id bigint PRIMARY KEY, family_name text, given_name text, birth_date date,
    address text, city text, phone text, email text, social_security_number text);
COMMENT ON TABLE public.patients IS 'Patient identities. data_class=pii';

CREATE TABLE public.appointments (
    id bigint PRIMARY KEY, patient_id bigint REFERENCES public.patients, starts_at timestamptz,
    practitioner text, reason_code text);
COMMENT ON TABLE public.appointments IS 'data_class=administrative';

CREATE TABLE public.consultation_notes (
    id bigint PRIMARY KEY, patient_id bigint REFERENCES public.patients, written_at timestamptz,
    author text, free_text text);
COMMENT ON TABLE public.consultation_notes IS 'Free-text notes of the doctor. data_class=clinical_notes';
ALTER TABLE public.consultation_notes ENABLE ROW LEVEL SECURITY;

CREATE TABLE public.prescriptions (
    id bigint PRIMARY KEY, patient_id bigint REFERENCES public.patients, drug text, dosage text,
    prescribed_at date);
COMMENT ON TABLE public.prescriptions IS 'data_class=clinical';

CREATE SCHEMA clinical;
CREATE TABLE clinical.lab_results (
    id bigint PRIMARY KEY, patient_id bigint, received_at timestamptz, result_payload bytea);
COMMENT ON TABLE clinical.lab_results IS 'data_class=clinical';
ALTER TABLE clinical.lab_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE clinical.lab_results FORCE ROW LEVEL SECURITY;

CREATE SCHEMA billing;
CREATE TABLE billing.invoices (
    id bigint PRIMARY KEY, patient_id bigint, issued_at date, amount_cents integer);
COMMENT ON TABLE billing.invoices IS 'data_class=administrative';

-- A leftover import nobody classified.
CREATE SCHEMA staging;
CREATE TABLE staging.legacy_import (line_number integer, raw_line text);

GRANT USAGE ON SCHEMA clinical, billing, staging TO pms_app, reporting_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, clinical, billing, staging TO pms_app;
GRANT SELECT ON public.patients, public.appointments, public.consultation_notes, billing.invoices TO reporting_ro;
GRANT USAGE ON SCHEMA clinical TO clinical_readers, portal_app;
GRANT SELECT ON clinical.lab_results, public.consultation_notes TO clinical_readers;
GRANT SELECT ON clinical.lab_results TO portal_app;
-- Everyone may read prescriptions; and invoice dates were opened to everyone with a column
-- grant (only the missing USAGE on billing keeps it from working: still a grant to PUBLIC).
GRANT SELECT ON public.prescriptions TO PUBLIC;
GRANT SELECT (id, issued_at) ON billing.invoices TO PUBLIC;
