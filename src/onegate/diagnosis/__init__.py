"""Misconfiguration diagnosis: pure functions from what a request carried to a finding with a stable code.

Codes are `path.*`, `key.*` and `model.*`; support counts them from the request log's `config_hint`.
"""
