"""hw-sim: the terminal's devices, simulated — same interfaces as ``drivers``, no hardware needed.

Cameras that replay images, videos or scripted scenarios (:mod:`hw_sim.camera`,
:mod:`hw_sim.scenario`), gpiozero ``MockFactory`` pins with a recorder (:mod:`hw_sim.pins`), a
controllable clock (:mod:`hw_sim.clock`) and fault injection (:mod:`hw_sim.faults`).
"""

from typing import Any


def open_devices(config: Any, **options: Any) -> Any:
    """The simulated device set for ``config`` (see :func:`hw_sim.devices.open_devices`)."""
    from hw_sim.devices import open_devices as _open_devices

    return _open_devices(config, **options)
