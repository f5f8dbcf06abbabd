"""Operators' tools: usage queries, the admin dashboard, usage retention."""
