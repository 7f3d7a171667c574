"""Privacy: the suppression list, access export, erasure and retention (issue #4)."""
