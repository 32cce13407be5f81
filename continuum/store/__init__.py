"""The SQL database behind the usage ledger and run-time keys (SQLite or PostgreSQL)."""
