"""Training entry points (run as their own process; never import Qt)."""
