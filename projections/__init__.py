"""Read models: pure reducers that fold events into state (live, durable and offline),
plus the PostgreSQL read-model schema, projector and queries under `projections.postgres`.
"""
