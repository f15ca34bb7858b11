ALTER SYSTEM SET log_connections = 'on'
