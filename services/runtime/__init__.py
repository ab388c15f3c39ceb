"""Shared runtime plumbing: settings and client factories, written once."""
