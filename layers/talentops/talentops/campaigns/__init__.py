"""Campaigns of marketing ops (docs/campaigns.md): the definition and its validation
(model), and the per-candidate decision and the preview (preview). Pure; the routes, the
store and the launch's fan-out live elsewhere."""
