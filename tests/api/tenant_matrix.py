"""The tenant-isolation matrix: one line per served route (face, method, path as in the route table) and what a
caller outside the owner may do there. tests/api/test_tenant_isolation.py fails for a served route without a line,
so a route added later inherits the check the day it is served: add its line here.

Kinds (the owner is project A, the walk's `world`, made by its admin; B is a member of another project; "reader"
has the reader role in A):
- public    no token needed (the route table's token flag says so too)
- self      the caller's own token or projects (identity): nothing of A's to reach
- shared    everyone with a token reads it (flavors, zones, limits, extensions); B gets 2xx
- admin     admin only: B and A's reader get 403
- owned     a thing of A's named in the path: B gets 404 (the thing does not exist for B); A's reader gets 403
            on a write and 2xx on a read
- list      a collection: B gets 2xx and none of A's ids; A's reader gets 2xx
- create    a create in the caller's own project: A's reader gets 403 (B may create its own)
- user      a thing of one user's (keypairs): every other user gets 404 (A's reader 403 on a write: no writes)
- nothing   no body is served there (every caller gets the status after the colon): nothing to reach
- project   A's project named in the path: B gets 403 (Nova, Neutron and Cinder check the project before
            anything); A's reader gets 403 on a write
A kind may carry B's status after a colon where the upstream service answers another one (`owned:403`: Nova
finds a server group by id in any project, then its policy refuses; `admin:404`: Nova has no access list for a
public flavor, whoever asks; `shared:404`: Cinder shows a non-admin only the user-visible extra specs).
"""
from __future__ import annotations

MATRIX_TEXT = """
root     GET    /                                                    public
root     GET    /openapi.json                                        public
compute  GET    (empty)                                              public
compute  GET    /                                                    public
compute  GET    /v2                                                  public
compute  GET    /v2/                                                 shared
compute  GET    /v2.1                                                public
compute  GET    /v2.1/                                               shared
compute  GET    /{tail:(?!v2(?:\\.1)?(?:/|$)).+}                     public
compute  GET    /extensions                                          shared
compute  GET    /extensions/{alias}                                  shared
compute  GET    /limits                                              shared
compute  GET    /os-quota-sets/{tenant_id}/defaults                  shared
compute  GET    /os-quota-sets/{tenant_id}/detail                    project
compute  GET    /os-quota-sets/{tenant_id}                           project
compute  PUT    /os-quota-sets/{tenant_id}                           admin
compute  DELETE /os-quota-sets/{tenant_id}                           admin
compute  GET    /os-quota-class-sets/{class_name}                    admin
compute  PUT    /os-quota-class-sets/{class_name}                    admin
compute  GET    /flavors                                             shared
compute  GET    /flavors/detail                                      shared
compute  POST   /flavors                                             admin
compute  GET    /flavors/{flavor_id}                                 shared
compute  PUT    /flavors/{flavor_id}                                 admin
compute  DELETE /flavors/{flavor_id}                                 admin
compute  GET    /flavors/{flavor_id}/os-flavor-access                admin:404
compute  POST   /flavors/{flavor_id}/action                          admin
compute  GET    /flavors/{flavor_id}/os-extra_specs                  shared
compute  POST   /flavors/{flavor_id}/os-extra_specs                  admin
compute  GET    /flavors/{flavor_id}/os-extra_specs/{key}            shared
compute  PUT    /flavors/{flavor_id}/os-extra_specs/{key}            admin
compute  DELETE /flavors/{flavor_id}/os-extra_specs/{key}            admin
compute  GET    /os-keypairs                                         list
compute  POST   /os-keypairs                                         create
compute  GET    /os-keypairs/{keypair_name}                          user
compute  DELETE /os-keypairs/{keypair_name}                          user
compute  GET    /os-availability-zone                                shared
compute  GET    /os-availability-zone/detail                         admin
compute  GET    /os-availability-zone/{zone_name}                    shared
compute  GET    /images                                              list
compute  GET    /images/detail                                       list
compute  GET    /images/{image_id}                                   owned
compute  DELETE /images/{image_id}                                   owned
compute  GET    /images/{image_id}/metadata                          owned
compute  POST   /images/{image_id}/metadata                          owned
compute  PUT    /images/{image_id}/metadata                          owned
compute  GET    /images/{image_id}/metadata/{key}                    owned
compute  PUT    /images/{image_id}/metadata/{key}                    owned
compute  DELETE /images/{image_id}/metadata/{key}                    owned
compute  GET    /os-networks                                         list
compute  GET    /os-networks/{network_id}                            owned
compute  GET    /os-tenant-networks                                  list
compute  GET    /os-tenant-networks/{network_id}                     owned
compute  GET    /os-floating-ips                                     list
compute  POST   /os-floating-ips                                     create
compute  GET    /os-floating-ips/{floating_ip_id}                    owned
compute  DELETE /os-floating-ips/{floating_ip_id}                    owned
compute  GET    /os-floating-ip-pools                                shared
compute  GET    /os-security-groups                                  list
compute  POST   /os-security-groups                                  create
compute  GET    /os-security-groups/{security_group_id}              owned
compute  PUT    /os-security-groups/{security_group_id}              owned
compute  DELETE /os-security-groups/{security_group_id}              owned
compute  POST   /os-security-group-rules                             create
compute  DELETE /os-security-group-rules/{security_group_rule_id}    owned
compute  GET    /os-security-group-default-rules                     admin
compute  POST   /os-security-group-default-rules                     admin
compute  GET    /os-security-group-default-rules/{security_group_default_rule_id}  admin
compute  DELETE /os-security-group-default-rules/{security_group_default_rule_id}  admin
compute  GET    /servers                                             list
compute  GET    /servers/detail                                      list
compute  POST   /servers                                             create
compute  POST   /os-volumes_boot                                     create
compute  GET    /servers/{server_id}                                 owned
compute  PUT    /servers/{server_id}                                 owned
compute  DELETE /servers/{server_id}                                 owned
compute  POST   /servers/{server_id}/action                          owned
compute  POST   /servers/{server_id}/remote-consoles                 owned
compute  GET    /servers/{server_id}/topology                        owned
compute  GET    /servers/{server_id}/os-instance-actions             owned
compute  GET    /servers/{server_id}/os-instance-actions/{request_id}  owned
compute  GET    /servers/{server_id}/metadata                        owned
compute  PUT    /servers/{server_id}/metadata                        owned
compute  POST   /servers/{server_id}/metadata                        owned
compute  GET    /servers/{server_id}/metadata/{key}                  owned
compute  PUT    /servers/{server_id}/metadata/{key}                  owned
compute  DELETE /servers/{server_id}/metadata/{key}                  owned
compute  GET    /servers/{server_id}/tags                            owned
compute  PUT    /servers/{server_id}/tags                            owned
compute  DELETE /servers/{server_id}/tags                            owned
compute  GET    /servers/{server_id}/tags/{tag}                      owned
compute  PUT    /servers/{server_id}/tags/{tag}                      owned
compute  DELETE /servers/{server_id}/tags/{tag}                      owned
compute  GET    /servers/{server_id}/ips                             owned
compute  GET    /servers/{server_id}/ips/{network_label}             owned
compute  GET    /servers/{server_id}/os-volume_attachments           owned
compute  POST   /servers/{server_id}/os-volume_attachments           owned
compute  GET    /servers/{server_id}/os-volume_attachments/{volume_id}  owned
compute  PUT    /servers/{server_id}/os-volume_attachments/{volume_id}  owned
compute  DELETE /servers/{server_id}/os-volume_attachments/{volume_id}  owned
compute  GET    /os-volumes                                          list
compute  GET    /os-volumes/detail                                   list
compute  POST   /os-volumes                                          create
compute  GET    /os-volumes/{volume_id}                              owned
compute  DELETE /os-volumes/{volume_id}                              owned
compute  GET    /os-snapshots                                        list
compute  GET    /os-snapshots/detail                                 list
compute  POST   /os-snapshots                                        create
compute  GET    /os-snapshots/{snapshot_id}                          owned
compute  DELETE /os-snapshots/{snapshot_id}                          owned
k5       GET    /v1.1/{project_id}/os-volumes                        project:400
k5       GET    /v1.1/{project_id}/os-volumes/detail                 project:400
k5       POST   /v1.1/{project_id}/os-volumes                        project:400
k5       GET    /v1.1/{project_id}/os-volumes/{volume_id}            project:400
k5       DELETE /v1.1/{project_id}/os-volumes/{volume_id}            project:400
k5       GET    /v1.1/{project_id}/os-snapshots                      project:400
k5       GET    /v1.1/{project_id}/os-snapshots/detail               project:400
k5       POST   /v1.1/{project_id}/os-snapshots                      project:400
k5       GET    /v1.1/{project_id}/os-snapshots/{snapshot_id}        project:400
k5       DELETE /v1.1/{project_id}/os-snapshots/{snapshot_id}        project:400
k5       POST   /v1/imageimport                                      create
k5       GET    /v1/imageimport                                      list
k5       GET    /v1/imageimport/{job_id}/status                      nothing:404
k5       POST   /v1/imageexport                                      create
k5       GET    /v1/imageexport                                      list
k5       GET    /v1/imageexport/{job_id}/status                      nothing:404
k5       POST   /v1/imageexport/{job_id}/cancel                      nothing:404
compute  GET    /servers/{server_id}/diagnostics                     admin
compute  GET    /servers/{server_id}/migrations                      admin
compute  GET    /servers/{server_id}/os-server-password              owned
compute  DELETE /servers/{server_id}/os-server-password              owned
compute  GET    /servers/{server_id}/migrations/{migration_id}       admin
compute  DELETE /servers/{server_id}/migrations/{migration_id}       owned
compute  POST   /servers/{server_id}/migrations/{migration_id}/action  owned
compute  GET    /os-hosts                                            admin
compute  GET    /os-hosts/{host_name}                                admin
compute  PUT    /os-hosts/{host_name}                                admin
compute  GET    /os-hosts/{host_name}/reboot                         admin
compute  GET    /os-hosts/{host_name}/shutdown                       admin
compute  GET    /os-hosts/{host_name}/startup                        admin
compute  GET    /os-instance_usage_audit_log                         admin
compute  GET    /os-instance_usage_audit_log/{before_timestamp}      admin
compute  GET    /os-hypervisors                                      admin
compute  GET    /os-hypervisors/detail                               admin
compute  GET    /os-hypervisors/statistics                           admin
compute  GET    /os-hypervisors/{hypervisor_id}                      admin
compute  GET    /os-hypervisors/{hypervisor_id}/uptime               admin
compute  GET    /os-hypervisors/{pattern}/search                     admin
compute  GET    /os-hypervisors/{pattern}/servers                    admin
compute  GET    /os-server-groups                                    list
compute  POST   /os-server-groups                                    create
compute  GET    /os-server-groups/{group_id}                         owned:403
compute  DELETE /os-server-groups/{group_id}                         owned:403
compute  GET    /os-simple-tenant-usage                              admin
compute  GET    /os-simple-tenant-usage/{tenant_id}                  project
compute  GET    /os-migrations                                       admin
compute  GET    /os-aggregates                                       admin
compute  GET    /os-services                                         admin
compute  PUT    /os-services/enable                                  admin
compute  PUT    /os-services/disable                                 admin
compute  PUT    /os-services/disable-log-reason                      admin
compute  PUT    /os-services/force-down                              admin
compute  PUT    /os-services/{service_id}                            admin
compute  DELETE /os-services/{service_id}                            admin
compute  GET    /servers/{server_id}/os-interface                    owned
compute  POST   /servers/{server_id}/os-interface                    owned
compute  GET    /servers/{server_id}/os-interface/{port_id}          owned
compute  DELETE /servers/{server_id}/os-interface/{port_id}          owned
compute  GET    /servers/{server_id}/os-security-groups              owned
identity GET    (empty)                                              public
identity GET    /                                                    public
identity GET    /v3                                                  public
identity GET    /v3/                                                 public
identity GET    /v2.0                                                public
identity GET    /v2.0/                                               public
identity POST   /v3/auth/tokens                                      public
identity GET    /v3/auth/tokens                                      self
identity DELETE /v3/auth/tokens                                      self
identity POST   /v2.0/tokens                                         public
identity GET    /v3/projects                                         self
identity GET    /v3/projects/{project_id}                            self
image    GET    (empty)                                              public
image    GET    /                                                    public
image    GET    /versions                                            public
image    GET    /v2/images                                           list
image    POST   /v2/images                                           create
image    GET    /v2/images/{image_id}                                owned
image    PATCH  /v2/images/{image_id}                                owned
image    DELETE /v2/images/{image_id}                                owned
image    PUT    /v2/images/{image_id}/file                           owned
image    GET    /v2/images/{image_id}/file                           owned
image    GET    /v2/images/{image_id}/tasks                          owned
image    POST   /v2/images/{image_id}/members                        owned
image    GET    /v2/images/{image_id}/members                        owned
image    GET    /v2/images/{image_id}/members/{member_id}            owned
image    PUT    /v2/images/{image_id}/members/{member_id}            owned
image    DELETE /v2/images/{image_id}/members/{member_id}            owned
image    GET    /v2/schemas/member                                   shared
image    GET    /v2/schemas/members                                  shared
network  GET    (empty)                                              public
network  GET    /                                                    public
network  GET    /v2.0/                                               shared
network  GET    /v2.0/extensions                                     shared
network  GET    /v2.0/extensions/{alias}                             shared
network  GET    /v2.0/networks                                       list
network  POST   /v2.0/networks                                       create
network  GET    /v2.0/networks/{network_id}                          owned
network  PUT    /v2.0/networks/{network_id}                          owned
network  DELETE /v2.0/networks/{network_id}                          owned
network  GET    /v2.0/subnets                                        list
network  POST   /v2.0/subnets                                        create
network  GET    /v2.0/subnets/{subnet_id}                            owned
network  PUT    /v2.0/subnets/{subnet_id}                            owned
network  DELETE /v2.0/subnets/{subnet_id}                            owned
network  GET    /v2.0/ports                                          list
network  POST   /v2.0/ports                                          create
network  GET    /v2.0/ports/{port_id}                                owned
network  PUT    /v2.0/ports/{port_id}                                owned
network  DELETE /v2.0/ports/{port_id}                                owned
network  GET    /v2.0/security-groups                                list
network  POST   /v2.0/security-groups                                create
network  GET    /v2.0/security-groups/{security_group_id}            owned
network  PUT    /v2.0/security-groups/{security_group_id}            owned
network  DELETE /v2.0/security-groups/{security_group_id}            owned
network  GET    /v2.0/security-group-rules                           list
network  POST   /v2.0/security-group-rules                           create
network  GET    /v2.0/security-group-rules/{rule_id}                 owned
network  DELETE /v2.0/security-group-rules/{rule_id}                 owned
network  GET    /v2.0/routers                                        list
network  POST   /v2.0/routers                                        create
network  GET    /v2.0/routers/{router_id}                            owned
network  PUT    /v2.0/routers/{router_id}                            owned
network  DELETE /v2.0/routers/{router_id}                            owned
network  PUT    /v2.0/routers/{router_id}/add_router_interface       owned
network  PUT    /v2.0/routers/{router_id}/remove_router_interface    owned
network  GET    /v2.0/floatingips                                    list
network  POST   /v2.0/floatingips                                    create
network  GET    /v2.0/floatingips/{floatingip_id}                    owned
network  PUT    /v2.0/floatingips/{floatingip_id}                    owned
network  DELETE /v2.0/floatingips/{floatingip_id}                    owned
network  GET    /v2.0/auto-allocated-topology/{project_id}           project
network  DELETE /v2.0/auto-allocated-topology/{project_id}           project
network  GET    /v2.0/quotas                                         admin
network  GET    /v2.0/quotas/{project_id}/details                    project
network  GET    /v2.0/quotas/{project_id}/default                    project
network  GET    /v2.0/quotas/{project_id}                            project
network  PUT    /v2.0/quotas/{project_id}                            admin
network  DELETE /v2.0/quotas/{project_id}                            admin
volume   GET    (empty)                                              public
volume   GET    /                                                    public
volume   GET    /v3                                                  public
volume   GET    /v3/                                                 public
volume   GET    /types                                               shared
volume   POST   /types                                               admin
volume   GET    /types/{type_id}                                     shared
volume   PUT    /types/{type_id}                                     admin
volume   DELETE /types/{type_id}                                     admin
volume   GET    /types/{type_id}/extra_specs                         shared
volume   POST   /types/{type_id}/extra_specs                         admin
volume   GET    /types/{type_id}/extra_specs/{key}                   shared:404
volume   PUT    /types/{type_id}/extra_specs/{key}                   admin
volume   DELETE /types/{type_id}/extra_specs/{key}                   admin
volume   GET    /volumes                                             list
volume   GET    /volumes/detail                                      list
volume   POST   /volumes                                             create
volume   GET    /volumes/{volume_id}                                 owned
volume   PUT    /volumes/{volume_id}                                 owned
volume   DELETE /volumes/{volume_id}                                 owned
volume   POST   /volumes/{volume_id}/action                          owned
volume   GET    /volumes/{volume_id}/metadata                        owned
volume   POST   /volumes/{volume_id}/metadata                        owned
volume   PUT    /volumes/{volume_id}/metadata                        owned
volume   GET    /volumes/{volume_id}/metadata/{key}                  owned
volume   PUT    /volumes/{volume_id}/metadata/{key}                  owned
volume   DELETE /volumes/{volume_id}/metadata/{key}                  owned
volume   GET    /snapshots                                           list
volume   GET    /snapshots/detail                                    list
volume   POST   /snapshots                                           create
volume   GET    /snapshots/{snapshot_id}                             owned
volume   PUT    /snapshots/{snapshot_id}                             owned
volume   DELETE /snapshots/{snapshot_id}                             owned
volume   POST   /snapshots/{snapshot_id}/action                      nothing:400
volume   GET    /limits                                              shared
volume   GET    /os-quota-sets/{tenant_id}/defaults                  project
volume   GET    /os-quota-sets/{tenant_id}                           project
volume   PUT    /os-quota-sets/{tenant_id}                           admin
volume   DELETE /os-quota-sets/{tenant_id}                           admin
"""

KINDS = ("public", "self", "shared", "admin", "owned", "user", "list", "create", "project", "nothing")


def parse(text: str) -> dict[tuple[str, str, str], tuple[str, int | None]]:
    """(face, method, path) -> (kind, B's status where it differs from the kind's)."""
    matrix = {}
    for line in text.strip().splitlines():
        face, method, path, kind = line.split()
        kind, _, status = kind.partition(":")
        assert kind in KINDS, line
        key = (face, method, "" if path == "(empty)" else path)
        assert key not in matrix, line
        matrix[key] = (kind, int(status) if status else None)
    return matrix


MATRIX = parse(MATRIX_TEXT)
# Reads of A's things the walk's world cannot make (their B check is a 404 that proves nothing yet): a volume
# attaches only to a server with a domain, and the world's server is a row without one.
NOT_IN_THE_WORLD = [("compute", "GET", "/servers/{server_id}/os-volume_attachments/{volume_id}")]
