"""Local infrastructure without Docker: Kafka from Maven Central jars, embedded PostgreSQL."""
