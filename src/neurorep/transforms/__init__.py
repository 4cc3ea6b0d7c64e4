"""neurorep.transforms."""
