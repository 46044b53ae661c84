"""Norms: measures live whether the service norms are kept, from the decisions stream."""
