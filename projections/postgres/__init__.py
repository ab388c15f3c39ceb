"""PostgreSQL read models: migrations, the exactly-once projector, rebuild and queries."""
