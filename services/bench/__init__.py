"""`make bench`: the issue-2 benchmark on its own local Kafka broker and PostgreSQL server."""
