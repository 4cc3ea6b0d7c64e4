"""neurorep.recipes."""
