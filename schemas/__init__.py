"""Contracts: the CloudEvents envelope, the event catalog, the codec and topic names.

Nothing in this package touches Kafka, PostgreSQL or the clock.
"""
