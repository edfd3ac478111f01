"""Errors of the networking service, named as Neutron names them.

Neutron's fault body carries the exception's class name as its `type` (`{"NeutronError": {"type":
"NetworkNotFound", ...}}`); every class deriving from `NeutronTyped` is rendered with its own name by the network
face, and messages are Neutron's (neutron-lib's exceptions). Each also derives from the domain error of its HTTP
status, so other faces render it in their own shape.
"""
from __future__ import annotations

from nodecompute.domain import errors as _errors
from nodecompute.domain.errors import ComputeError, Conflict, Forbidden, NotFound


class NeutronTyped:
    """Marker: the Neutron fault `type` of this error is its class name."""


class NetworkNotFound(NeutronTyped, NotFound):
    msg_fmt = "Network %(net_id)s could not be found."


class SubnetNotFound(NeutronTyped, NotFound):
    msg_fmt = "Subnet %(subnet_id)s could not be found."


class PortNotFound(NeutronTyped, NotFound):
    msg_fmt = "Port %(port_id)s could not be found."


class SecurityGroupNotFound(NeutronTyped, NotFound):
    msg_fmt = "Security group %(id)s does not exist"


class HTTPNotFound(NeutronTyped, NotFound):
    msg_fmt = "The resource could not be found."


class BadRequest(NeutronTyped, _errors.BadRequest):
    """neutron-lib's BadRequest: 'Bad <resource> request: <msg>.'"""


class HTTPBadRequest(NeutronTyped, _errors.BadRequest):
    """webob's 400, raised by Neutron's request handling (bodies, filters, sorting)."""


class TenantIdProjectIdFilterConflict(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Both tenant_id and project_id passed as filters."


class InvalidInput(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Invalid input for operation: %(error_message)s."


class InvalidIpForSubnet(NeutronTyped, _errors.BadRequest):
    msg_fmt = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidIpForNetwork(NeutronTyped, _errors.BadRequest):
    msg_fmt = "IP address %(ip_address)s is not a valid IP for any of the subnets on the specified network."


class InvalidAllocationPool(NeutronTyped, _errors.BadRequest):
    msg_fmt = "The allocation pool %(pool)s is not valid."


class OutOfBoundsAllocationPool(NeutronTyped, _errors.BadRequest):
    msg_fmt = "The allocation pool %(pool)s spans beyond the subnet cidr %(subnet_cidr)s."


class DNSNameServersExhausted(NeutronTyped, _errors.BadRequest):
    msg_fmt = ("Unable to complete operation for %(subnet_id)s. The number of DNS nameservers exceeds the limit "
               "%(quota)s.")


class HostRoutesExhausted(NeutronTyped, _errors.BadRequest):
    msg_fmt = ("Unable to complete operation for %(subnet_id)s. The number of host routes exceeds the limit "
               "%(quota)s.")


class NetworkInUse(NeutronTyped, Conflict):
    msg_fmt = "Unable to complete operation on network %(net_id)s. %(reason)s."

    def __init__(self, net_id: str, reason: str = "There are one or more ports still in use on the network"):
        super().__init__(net_id=net_id, reason=reason)


class SubnetInUse(NeutronTyped, Conflict):
    msg_fmt = "Unable to complete operation on subnet %(subnet_id)s: %(reason)s."

    def __init__(self, subnet_id: str, reason: str = "One or more ports have an IP allocation from this subnet"):
        super().__init__(subnet_id=subnet_id, reason=reason)


class ServicePortInUse(NeutronTyped, Conflict):
    msg_fmt = "Port %(port_id)s cannot be deleted directly via the port API: %(reason)s."


class PortInUse(NeutronTyped, Conflict):
    msg_fmt = ("Unable to complete operation on port %(port_id)s for network %(net_id)s. Port already has an "
               "attached device %(device_id)s.")


class MacAddressInUse(NeutronTyped, Conflict):
    msg_fmt = "Unable to complete operation for network %(net_id)s. The mac address %(mac)s is in use."


class IpAddressAlreadyAllocated(NeutronTyped, Conflict):
    msg_fmt = "IP address %(ip)s already allocated in subnet %(subnet_id)s"


class IpAddressGenerationFailure(NeutronTyped, Conflict):
    msg_fmt = "No more IP addresses available on network %(net_id)s."


class OverlappingAllocationPools(NeutronTyped, Conflict):
    msg_fmt = "Found overlapping allocation pools: %(pool_1)s %(pool_2)s for subnet %(subnet_cidr)s."


class GatewayConflictWithAllocationPools(NeutronTyped, Conflict):
    msg_fmt = "Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s."


class PortSecurityAndIPRequiredForSecurityGroups(NeutronTyped, Conflict):
    msg_fmt = ("Port security must be enabled and port must have an IP address in order to use security "
               "groups.")


class PortSecurityPortHasSecurityGroup(NeutronTyped, Conflict):
    msg_fmt = ("Port has security group associated. Cannot disable port security or ip address until security "
               "group is removed")


class InvalidSharedSetting(NeutronTyped, Conflict):
    msg_fmt = "Unable to reconfigure sharing settings for network %(network)s. Multiple projects are using it."


class GatewayIpInUse(NeutronTyped, Conflict):
    msg_fmt = "Current gateway ip %(ip_address)s already in use by port %(port_id)s. Unable to update."


class OverQuota(NeutronTyped, Conflict):
    msg_fmt = "Quota exceeded for resources: %(overs)s."


class PortInUse(NeutronTyped, Conflict):
    msg_fmt = ("Unable to complete operation on port %(port_id)s for network %(net_id)s. Port already has an "
               "attached device %(device_id)s.")


class SubnetMismatchForPort(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Subnet on port %(port_id)s does not match the requested subnet %(subnet_id)s."


class RouterNotFound(NeutronTyped, NotFound):
    msg_fmt = "Router %(router_id)s could not be found"


class RouterInUse(NeutronTyped, Conflict):
    msg_fmt = "Router %(router_id)s %(reason)s"


class RouterInterfaceNotFound(NeutronTyped, NotFound):
    msg_fmt = "Router %(router_id)s does not have an interface with id %(port_id)s"


class RouterInterfaceNotFoundForSubnet(NeutronTyped, NotFound):
    msg_fmt = "Router %(router_id)s has no interface on subnet %(subnet_id)s"


class RouterInterfaceInUseByFloatingIP(NeutronTyped, Conflict):
    msg_fmt = ("Router interface for subnet %(subnet_id)s on router %(router_id)s cannot be deleted, as it is "
               "required by one or more floating IPs.")


class RouterExternalGatewayInUseByFloatingIp(NeutronTyped, Conflict):
    msg_fmt = ("Gateway cannot be updated for router %(router_id)s, since a gateway to external network %(net_id)s "
               "is required by one or more floating IPs.")


class FloatingIPNotFound(NeutronTyped, NotFound):
    msg_fmt = "Floating IP %(floatingip_id)s could not be found"


class ExternalGatewayForFloatingIPNotFound(NeutronTyped, NotFound):
    msg_fmt = ("External network %(external_network_id)s is not reachable from subnet %(subnet_id)s.  Therefore, "
               "cannot associate Port %(port_id)s with a Floating IP.")


class FloatingIPPortAlreadyAssociated(NeutronTyped, Conflict):
    msg_fmt = ("Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) with port %(port_id)s using fixed "
               "IP %(fixed_ip)s, as that fixed IP already has a floating IP on external network %(net_id)s.")


class AutoAllocationFailure(NeutronTyped, Conflict):
    msg_fmt = "Deployment error: %(reason)s."


class NotAuthorized(NeutronTyped, Forbidden):
    msg_fmt = "Not authorized."


class PolicyNotAuthorized(NeutronTyped, Forbidden):
    msg_fmt = "%(rule)s is disallowed by policy"


class AdminRequired(NeutronTyped, Forbidden):
    msg_fmt = "User does not have admin privileges: %(reason)s."


class ServiceUnavailable(NeutronTyped, ComputeError):
    code = 503
    msg_fmt = "Networking is disabled on this host: %(reason)s"


# Security groups (neutron/extensions/securitygroup.py) ----------------------------------------------------------

class SecurityGroupRuleNotFound(NeutronTyped, NotFound):
    msg_fmt = "Security group rule %(id)s does not exist"


class SecurityGroupInUse(NeutronTyped, Conflict):
    msg_fmt = "Security Group %(id)s %(reason)s."

    def __init__(self, id: str, reason: str = "in use") -> None:  # noqa: A002 (Neutron's keyword)
        super().__init__(id=id, reason=reason)


class SecurityGroupCannotRemoveDefault(NeutronTyped, Conflict):
    msg_fmt = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(NeutronTyped, Conflict):
    msg_fmt = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(NeutronTyped, Conflict):
    msg_fmt = "Default security group already exists."


class SecurityGroupRuleExists(NeutronTyped, Conflict):
    msg_fmt = "Security group rule already exists. Rule id is %(rule_id)s."


class SecurityGroupInvalidPortRange(NeutronTyped, _errors.BadRequest):
    msg_fmt = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidProtocolForPort(NeutronTyped, _errors.BadRequest):
    msg_fmt = ("Ports cannot be specified for protocol %(protocol)s. Ports are only supported for "
               "%(valid_port_protocols)s.")


class SecurityGroupInvalidPortValue(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Invalid value for port %(port)s"


class SecurityGroupInvalidIcmpValue(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It must be 0 to 255."


class SecurityGroupEthertypeConflictWithProtocol(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Invalid ethertype %(ethertype)s for protocol %(protocol)s."


class SecurityGroupMissingIcmpType(NeutronTyped, _errors.BadRequest):
    msg_fmt = "ICMP code (port-range-max) %(value)s is provided but ICMP type (port-range-min) is missing."


class SecurityGroupRuleInvalidProtocol(NeutronTyped, _errors.BadRequest):
    msg_fmt = ("Security group rule protocol %(protocol)s not supported. Only protocol values %(values)s and integer "
               "representations [0 to 255] are supported.")


class SecurityGroupMultipleRemoteEntites(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."


class SecurityGroupProtocolRequiredWithPorts(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Must also specify protocol if port range is given."


class SecurityGroupRuleParameterConflict(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s"


class SecurityGroupRuleInvalidEtherType(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Security group rule for ethertype '%(ethertype)s' not supported. Allowed values are %(values)s."


class InvalidCIDR(NeutronTyped, _errors.BadRequest):
    msg_fmt = "Invalid CIDR %(input)s given as IP prefix."
