"""Helpers of the ``remedies`` experiment (the underscore keeps them out of the registry)."""
