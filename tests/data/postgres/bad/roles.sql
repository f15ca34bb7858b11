-- The application login: owns nothing, reads and writes everything, and bypasses RLS.
CREATE ROLE pms_app LOGIN BYPASSRLS PASSWORD 'pms-app-secret';
-- A reporting login given SELECT on whatever reports needed, both classes included.
CREATE ROLE reporting_ro LOGIN PASSWORD 'reporting-secret' VALID UNTIL 'infinity';
-- A named DBA made superuser "for convenience".
CREATE ROLE dba_alice LOGIN SUPERUSER PASSWORD 'alice-secret';
-- A group for clinical reads and a nurse-facing login using only it.
CREATE ROLE clinical_readers NOLOGIN;
CREATE ROLE nurse_app LOGIN PASSWORD 'nurse-secret' VALID UNTIL '2030-01-01';
GRANT clinical_readers TO nurse_app;
-- The patient portal: its own database, plus a lab-results grant added for a feature.
CREATE ROLE portal_app LOGIN PASSWORD 'portal-secret';
