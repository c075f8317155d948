"""Deciding: the verifier and the site policy."""
