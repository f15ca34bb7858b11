ALTER SYSTEM SET log_connections = 'off'
ALTER SYSTEM SET log_disconnections = 'off'
ALTER SYSTEM SET log_statement = 'ddl'
