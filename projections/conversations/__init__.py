"""The conversation aggregate: lifecycle state and its reducer."""
