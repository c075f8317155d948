"""Cryptography for credentials: SM2/SM3 (native format) and the foreign formats' algorithms."""
