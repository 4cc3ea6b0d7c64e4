"""neurorep.training."""
