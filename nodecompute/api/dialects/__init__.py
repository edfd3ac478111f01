"""The dialects mounted by default: the openstack compute face, and the identity and image faces."""
