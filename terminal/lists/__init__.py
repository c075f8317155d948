"""Signed lists: trust and revocation lists, clock trust, sync and publishing."""
