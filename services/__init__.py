"""Loket's four services. They never import each other: they meet on topics."""
