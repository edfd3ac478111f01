#!/bin/sh
# Run by `busybox uevent` for every kernel uevent after boot (environment: ACTION, SUBSYSTEM, DEVTYPE,
# DEVNAME, INTERFACE). Reports hot-plugged disks and NICs, runs DHCP on new NICs, and starts the command
# channel or guest agent when their virtio-serial port appears or gets its name.
. /etc/nodecompute/lib.sh
. /etc/nodecompute/services.sh

case "$SUBSYSTEM:$ACTION" in
block:add)
	[ "$DEVTYPE" = disk ] && is_reported_disk "$DEVNAME" && say "disk-added $(disk_facts "$DEVNAME")"
	;;
block:remove)
	[ "$DEVTYPE" = disk ] && is_reported_disk "$DEVNAME" && say "disk-removed $DEVNAME"
	;;
net:add)
	is_guest_nic "$INTERFACE" && start_dhcp "$INTERFACE" </dev/null >/dev/null 2>&1 &
	;;
net:remove)
	# The device is gone from sysfs by now: a NIC we ran DHCP on has a pidfile.
	[ -f "$RUN_DIR/udhcpc.$INTERFACE.pid" ] && { stop_dhcp "$INTERFACE"; say "nic-removed $INTERFACE"; }
	;;
virtio-ports:add | virtio-ports:change)
	start_port_services
	;;
esac
exit 0
