"""`make bench`: the origin measured against references in the same run."""
