"""The Faust stream processor: live tables of conversations, queues and agents.

Agents here are thin: decode, call the pure step in `streams.steps`, write.
"""
