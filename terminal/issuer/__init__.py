"""The issuer's tools: key files, issuer directories and credentials."""
