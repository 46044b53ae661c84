"""Router: the one-desk rules, from ``loket.contacts.v1`` to decisions and case requests."""
