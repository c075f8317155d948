"""hw-sim: the terminal's devices, simulated — same interfaces as ``drivers``, no hardware needed.

Cameras that replay images, videos or scripted scenarios (:mod:`hw_sim.camera`,
:mod:`hw_sim.scenario`), gpiozero ``MockFactory`` pins with a recorder (:mod:`hw_sim.pins`), a
controllable clock (:mod:`hw_sim.clock`), fault injection (:mod:`hw_sim.faults`), a virtual ESC/POS
printer (:mod:`hw_sim.printer`) and 2D code readers: serial on a pty (:mod:`hw_sim.reader`) and
keyboard wedge as Linux input events (:mod:`hw_sim.wedge`).
"""
