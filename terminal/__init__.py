"""scanpoint terminal: pure decision logic for an offline QR-credential scanner.

Nothing under this package imports a hardware library; devices are reached through the
small interfaces in :mod:`terminal.interfaces`.
"""

__version__ = "0.1.0"
