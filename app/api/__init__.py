"""HTTP API routes (thin: validation and scoping here, work in the services)."""
