"""The ground floor: plain records, error classes and state tables shared by every layer.

Nothing here does I/O or imports another nodecompute package (regex.py wraps google-re2): the services in
nodecompute.compute and the adapters (db, storage, virt, identity) all import from here, so no adapter needs a service
module.
"""
