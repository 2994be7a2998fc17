"""One module per schema revision, applied in order when a store opens."""
