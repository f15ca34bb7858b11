CREATE TABLE public.web_accounts (
    id bigint PRIMARY KEY, patient_id bigint, login_email text, password_hash text);
COMMENT ON TABLE public.web_accounts IS 'data_class=administrative';
GRANT SELECT, INSERT, UPDATE ON public.web_accounts TO portal_app;
