"""Why (not): explanations of what would reach a candidate, from the functions that decide."""
