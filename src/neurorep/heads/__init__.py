"""neurorep.heads."""
