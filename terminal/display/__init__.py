"""The staff screen and fleet metrics: what the scanner publishes, and ``scanpoint display``.

- :mod:`.events` — the event documents (what a screen may know of a decision: never a payload,
  a serial, a code hash or an ID) and their bounds;
- :mod:`.publisher` — the scanner's side: a Unix socket it writes to without ever waiting;
- :mod:`.feed` — the display's side: reads the socket, keeps the latest state, fans events out to
  browsers over Server-Sent Events;
- :mod:`.metrics` — Prometheus exposition from the scanner's own counters and the status sections;
- :mod:`.app` and :mod:`.server` — the ASGI app (kiosk, status, metrics, optional simulator view)
  and the uvicorn runner. Pages are static files in ``static/``: no external resources.

The display has no way to command the gate: it only reads the socket (the scanner shuts the
socket's other direction) and the state files; only the simulator view, which exists only when
the simulated scanner runs in the same process (``scanpoint demo --ui``), can present a scene to
the simulated camera.
"""
