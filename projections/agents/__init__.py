"""Agent projection: session, status, skills, capacity and load per channel."""
