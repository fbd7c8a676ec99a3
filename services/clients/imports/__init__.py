"""CSV import of clients: dry run, then one background job with progress and an error report."""
