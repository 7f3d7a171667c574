"""Behaviour the careers site reports (`POST /track`) as events on the bus."""
