"""Queue projection: who waits where, by priority and channel."""
