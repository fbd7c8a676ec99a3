"""``make bench``: the stack under load on a realistic data set; figures and ratios, never asserts."""
