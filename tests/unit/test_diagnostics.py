"""Server diagnostics (#1901) from canned libvirt answers: the counters, Nova's pre-2.48 free-form dict and its
2.48 standard form; and the sampler's counters from a getAllDomainStats record."""
from __future__ import annotations

from nodecompute.virt.diagnostics import legacy_diagnostics, standard_diagnostics
from nodecompute.virt.domain_stats import (
    CumulativeCounters, DiskCounters, NicCounters, NicTraffic, VcpuTime, counters_from_libvirt, cumulative_counters,
    io_devices,
)

# Nova's test_diagnostic_full domain (nova/tests/unit/virt/libvirt/test_driver.py), plus a config drive cdrom
# whose stats libvirt cannot read and a user-networking NIC without a host device.
DOMAIN_XML = """<domain type='kvm'><name>instance-0000002a</name><devices>
  <disk type='file' device='disk'><source file='filename'/><target dev='vda' bus='virtio'/></disk>
  <disk type='block' device='disk'><source dev='/path/to/dev/1'/><target dev='vdb' bus='virtio'/></disk>
  <disk type='file' device='cdrom'><target dev='hda' bus='ide'/></disk>
  <interface type='network'><mac address='52:54:00:a4:38:38'/><source network='default'/>
    <target dev='vnet0'/></interface>
  <interface type='user'><mac address='fa:16:3e:00:00:02'/><model type='virtio'/></interface>
</devices></domain>"""
VCPUS = [(0, 1, 15340000000, 0), (1, 1, 1640000000, 0), (2, 1, 3040000000, 0), (3, 1, 1420000000, 0)]
INFO = [1, 280160, 220160, 4, 21440000000]  # running, maxMem KiB, memory KiB, vCPUs, cpuTime ns
BLOCK = (169, 688640, 0, 0, 1)
IFACE = (4408, 82, 0, 0, 0, 0, 0, 0)
NOVA_LEGACY = {  # Nova's expected get_diagnostics answer for that domain
    "cpu0_time": 15340000000, "cpu1_time": 1640000000, "cpu2_time": 3040000000, "cpu3_time": 1420000000,
    "vda_read": 688640, "vda_read_req": 169, "vda_write": 0, "vda_write_req": 0, "vda_errors": 1,
    "vdb_read": 688640, "vdb_read_req": 169, "vdb_write": 0, "vdb_write_req": 0, "vdb_errors": 1,
    "memory": 280160, "memory-actual": 220160, "memory-rss": 200164,
    "vnet0_rx": 4408, "vnet0_rx_drop": 0, "vnet0_rx_errors": 0, "vnet0_rx_packets": 82,
    "vnet0_tx": 0, "vnet0_tx_drop": 0, "vnet0_tx_errors": 0, "vnet0_tx_packets": 0,
}
NOVA_2_48_KEYS = {"config_drive", "cpu_details", "disk_details", "driver", "hypervisor", "hypervisor_os",
                  "memory_details", "nic_details", "num_cpus", "num_disks", "num_nics", "state", "uptime"}
NIC_KEYS = {"mac_address", "rx_drop", "rx_errors", "rx_octets", "rx_packets", "rx_rate", "tx_drop", "tx_errors",
            "tx_octets", "tx_packets", "tx_rate"}


def counters(**changes):
    args = dict(name="instance-0000002a", uuid="6a3f1c2e-0d4b-4c43-9f7e-3c1d2b9a8e11", domain_xml=DOMAIN_XML,
                info=INFO, vcpus=VCPUS, block_stats={"vda": BLOCK, "vdb": BLOCK, "hda": None},
                iface_stats={"vnet0": IFACE}, memory_stats={"actual": 220160, "rss": 200164})
    args.update(changes)
    return counters_from_libvirt(**args)


def test_io_devices_in_xml_order():
    devices = io_devices(DOMAIN_XML)
    assert devices.disks == ("vda", "vdb", "hda")
    assert devices.nics == (("52:54:00:a4:38:38", "vnet0"), ("fa:16:3e:00:00:02", None))
    assert io_devices("<domain/>").disks == ()


def test_counters_from_libvirt_answers():
    c = counters()
    assert (c.power_state, c.max_memory_kib, c.memory_kib, c.vcpus, c.cpu_time_ns) == (1, 280160, 220160, 4,
                                                                                        21440000000)
    assert c.vcpu_times[1] == VcpuTime(id=1, time_ns=1640000000)
    assert c.disks == (DiskCounters("vda", 169, 688640, 0, 0, 1), DiskCounters("vdb", 169, 688640, 0, 0, 1))
    assert c.nics == (NicCounters("52:54:00:a4:38:38", "vnet0", NicTraffic(4408, 82, 0, 0, 0, 0, 0, 0)),
                      NicCounters("fa:16:3e:00:00:02", None, None))
    assert c.memory_stats == (("actual", 220160), ("rss", 200164))


def test_legacy_form_is_novas_get_diagnostics():
    legacy = legacy_diagnostics(counters())
    assert legacy == NOVA_LEGACY
    assert list(legacy)[:5] == ["cpu0_time", "cpu1_time", "cpu2_time", "cpu3_time", "vda_read_req"]
    assert list(legacy)[-3:] == ["memory", "memory-actual", "memory-rss"]


def test_standard_form_is_novas_get_instance_diagnostics():
    diags = standard_diagnostics(counters(), hypervisor="kvm", uptime=10, config_drive=False)
    body = diags.as_nova()
    assert set(body) == NOVA_2_48_KEYS
    assert {k: body[k] for k in ("state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive")} == {
        "state": "running", "driver": "libvirt", "hypervisor": "kvm", "hypervisor_os": "linux", "uptime": 10,
        "config_drive": False}
    assert body["cpu_details"] == [{"id": i, "time": t, "utilisation": None}
                                   for i, t in enumerate([15340000000, 1640000000, 3040000000, 1420000000])]
    assert body["disk_details"] == [{"read_bytes": 688640, "read_requests": 169, "write_bytes": 0,
                                     "write_requests": 0, "errors_count": 1}] * 2
    assert body["nic_details"] == [
        {"mac_address": "52:54:00:a4:38:38", "rx_octets": 4408, "rx_errors": 0, "rx_drop": 0, "rx_packets": 82,
         "rx_rate": None, "tx_octets": 0, "tx_errors": 0, "tx_drop": 0, "tx_packets": 0, "tx_rate": None},
        dict.fromkeys(NIC_KEYS, None) | {"mac_address": "fa:16:3e:00:00:02"},  # no host device: the MAC only
    ]
    assert body["memory_details"] == {"maximum": 273, "used": 215}  # MiB
    assert (body["num_cpus"], body["num_disks"], body["num_nics"]) == (4, 2, 2)


def test_statistics_libvirt_cannot_give_are_left_out():
    c = counters(vcpus=None, block_stats={"vda": None, "vdb": BLOCK, "hda": None}, iface_stats={"vnet0": None},
                 memory_stats=None)
    assert legacy_diagnostics(c) == {"vdb_read_req": 169, "vdb_read": 688640, "vdb_write_req": 0, "vdb_write": 0,
                                     "vdb_errors": 1, "memory": 280160}
    body = standard_diagnostics(c, hypervisor="qemu", uptime=None, config_drive=True).as_nova()
    assert body["cpu_details"] == [] and body["num_cpus"] == 0
    assert [nic["mac_address"] for nic in body["nic_details"]] == ["fa:16:3e:00:00:02"]  # vnet0 unreadable: gone
    assert body["num_disks"] == 1 and body["config_drive"] is True and body["uptime"] is None


def test_power_states_by_name():
    for libvirt_state, name in ((1, "running"), (2, "running"), (3, "paused"), (4, "shutdown"), (5, "shutdown"),
                                (6, "crashed"), (7, "suspended"), (0, "pending")):
        c = counters(info=[libvirt_state, *INFO[1:]])
        assert standard_diagnostics(c, hypervisor="qemu", uptime=0, config_drive=False).state == name


def test_sampler_counters_from_a_get_all_domain_stats_record():
    record = {  # as getAllDomainStats gave it for a guest with a tap NIC and a user-networking NIC
        "state.state": 1, "cpu.time": 2008930000, "cpu.user": 1468218000, "cpu.system": 540712000,
        "vcpu.current": 2, "vcpu.maximum": 2, "vcpu.0.time": 1560000000,
        "net.count": 3, "net.0.name": "tap0", "net.0.rx.bytes": 90, "net.0.tx.bytes": 0,
        "net.2.name": "tap2", "net.2.rx.bytes": 1000, "net.2.tx.bytes": 77,
    }
    assert cumulative_counters(record) == CumulativeCounters(cpu_time_ns=2008930000, vcpus=2, rx_bytes=1090,
                                                             tx_bytes=77)
    assert cumulative_counters({}) == CumulativeCounters(0, 0, 0, 0)
