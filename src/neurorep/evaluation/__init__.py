"""neurorep.evaluation."""
