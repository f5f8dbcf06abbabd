"""Storage: the database engine and sessions, the models, retries of transient errors."""
