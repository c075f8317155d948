"""hw-sim: the terminal's devices, simulated — same interfaces as ``drivers``, no hardware needed.

Cameras that replay images, videos or scripted scenarios (:mod:`hw_sim.camera`,
:mod:`hw_sim.scenario`), gpiozero ``MockFactory`` pins with a recorder (:mod:`hw_sim.pins`), a
controllable clock (:mod:`hw_sim.clock`) and fault injection (:mod:`hw_sim.faults`).
"""
