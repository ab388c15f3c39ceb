"""The HTTP ingest: validates CloudEvents and typed commands, produces them to Kafka."""
