"""neurorep.data.readers."""
