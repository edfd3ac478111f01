"""Host networking adapter: bridges, namespaces, DHCP and routers for guest networks, and the nftables tables that
enforce security groups and anti-spoofing on them. Imports nothing from nodecompute.compute or nodecompute.api:
callers hand in this package's own frozen dataclasses."""
