"""neurorep.data.simulate."""
