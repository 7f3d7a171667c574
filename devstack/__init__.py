"""The local stack: template.yaml running on moto's in-process server, with the functions
invoked in this process (``python -m devstack``; see docs/local-stack.md)."""
