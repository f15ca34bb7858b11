-- One login per class of data; neither is superuser nor bypasses RLS.
CREATE ROLE pms_admin_app LOGIN PASSWORD 'admin-app-secret' VALID UNTIL '2030-01-01';
CREATE ROLE pms_clinical_app LOGIN PASSWORD 'clinical-app-secret' VALID UNTIL '2030-01-01';
CREATE ROLE clinical_readers NOLOGIN;
CREATE ROLE nurse_app LOGIN NOINHERIT PASSWORD 'nurse-secret';
GRANT clinical_readers TO nurse_app;
CREATE ROLE portal_app LOGIN PASSWORD 'portal-secret';
