"""The jobs and events the careers site lists (see adapters/listings.py for the keys)."""
