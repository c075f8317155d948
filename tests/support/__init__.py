"""Helpers shared by the test folders (and the vector generator), one module per kind of thing.

- :mod:`~tests.support.credentials`: fixed SM2 test keys, signed trust lists and native credentials
- :mod:`~tests.support.results`: sample results, credentials and decision events (printer, audit)
- :mod:`~tests.support.slips`: numbered slips and what a virtual printer printed of them
- :mod:`~tests.support.configs`: terminal configs written to a folder, and demo terminals
- :mod:`~tests.support.observers`: a pipeline observer that records every decision
- :mod:`~tests.support.pins`: pulses (on-periods) read from the hw-sim pin recorder
- :mod:`~tests.support.waiting`: wait for a condition, with a generous deadline
- :mod:`~tests.support.programs`: the repository path and a child's ``python -m terminal`` env
- :mod:`~tests.support.cli`: the command-line kit (parser walk, one-line error check)
- :mod:`~tests.support.notify`: a systemd notify socket (AF_UNIX datagrams) to listen on
- :mod:`~tests.support.listserver`: a real HTTP list server on loopback, with faults
- :mod:`~tests.support.systemd`: the one systemd unit-file parser
- :mod:`~tests.support.sm2_reference`: a naive, independent SM2 verifier (crypto cross-checks)
- :mod:`~tests.support.powercut`, :mod:`~tests.support.cutrun`: the power-cut VFS and campaign
- ``killworker.py``: the child process the SIGKILL test kills

Fixtures built on these live in ``tests/conftest.py``.
"""
