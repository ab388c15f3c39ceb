"""Runnable processes: ingest, simulator, CLI, and the shared runtime plumbing."""
