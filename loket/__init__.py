"""Loket's top floor: the ``loket`` command and the wiring that starts the services and the local stack."""
