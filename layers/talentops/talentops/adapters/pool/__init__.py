"""The talent pool table, one store a kind of item (adapters/talent_pool.py joins them)."""
