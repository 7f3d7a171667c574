"""Journeys over time (issue #6, docs/journeys.md): journey files (model, loader, source),
and the pure state machine that runs them (engine). AWS-free: the state store, the timers and
the sends are the caller's."""
