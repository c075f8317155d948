"""The scanning daemon: pipeline, service loop, devices, systemd notify, composition root."""
