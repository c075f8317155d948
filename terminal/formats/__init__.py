"""Credential formats, one module each, chosen by the QR text's prefix (:mod:`.dispatch`).

``native`` (SM2/SM3, ``SP1:``) and ``dcc`` (EU Digital COVID Certificate, ``HC1:``) are stage
chains (:mod:`.chain`) over the shared parts: Base45, capped inflate, strict CBOR and COSE_Sign1.
"""
