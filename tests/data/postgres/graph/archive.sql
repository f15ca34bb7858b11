CREATE SCHEMA records;
COMMENT ON SCHEMA records IS 'data_class=clinical';
CREATE TABLE records.old_notes (id bigint PRIMARY KEY, patient_id bigint, body text);
GRANT USAGE ON SCHEMA records TO archive_reader;
GRANT SELECT ON records.old_notes TO archive_reader;
