ALTER SYSTEM SET log_connections = 'on'
ALTER SYSTEM SET log_disconnections = 'on'
ALTER SYSTEM SET log_statement = 'ddl'
