#!/bin/busybox sh
# /init (PID 1) of the nodecompute test guest. Every report line goes to the serial console prefixed "NCGUEST ".
# See images/README.md for the meaning of each line.

/bin/busybox --install -s
export PATH=/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run/ncguest /var/log /tmp
mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1
# Only emergencies reach the consoles from now on (an unknown NMI is one: see README, "NMI").
dmesg -n 1

KVER=$(uname -r)
. /etc/nodecompute/lib.sh
. /etc/nodecompute/services.sh
. /etc/nodecompute/metadata.sh

load_modules() {
	local module
	while read -r module; do
		insmod "/lib/modules/$KVER/$module" 2>/dev/null
	done </etc/nodecompute/modules.list
}

count_boot() {
	local root=$1 count
	mkdir -p "$ROOT_MNT"
	if ! mount -t vfat -o rw "$root" "$ROOT_MNT"; then
		say "error=rootmount"
		return
	fi
	count=$(cat "$ROOT_MNT/bootcount" 2>/dev/null)
	case "$count" in '' | *[!0-9]*) count=0 ;; esac
	count=$((count + 1))
	echo "$count" >"$ROOT_MNT/bootcount"
	sync
	say "boot=$count"
}

report_machine() {
	say "mem total_kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
	say "cpus=$(grep -c '^processor' /proc/cpuinfo)"
}

# Files written by `writefile` on an earlier boot (or into the image this disk was copied from).
report_root_files() {
	local file
	for file in "$ROOT_FILES"/*; do
		[ -f "$file" ] || continue
		say "rootfile ${file##*/} $(awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }' "$file")"
	done
}

# DHCP on every NIC present at boot, in parallel (background jobs of /init: `wait` for them).
start_boot_dhcp() {
	local net
	for net in /sys/class/net/*; do
		is_guest_nic "${net##*/}" && start_dhcp "${net##*/}" &
	done
}

# The config drive, else (once the boot NICs' DHCP is done) the metadata service.
report_instance_metadata() {
	if mount_config_drive; then
		wait
		say "source=configdrive"
		report_metadata /mnt/config cat
		return
	fi
	wait
	if have_lease && fetch_metadata_service; then
		say "source=metadata-service"
		report_metadata "$MDS_DIR" "$MDS_GET"
	fi
}

# The disk carrying a swap signature (SWAPSPACE2 at the end of the first 4 KiB page), if any.
find_swap_disk() {
	local dev
	for dev in /sys/block/*; do
		dev=/dev/${dev##*/}
		[ -b "$dev" ] || continue
		case "$dev" in /dev/loop* | /dev/ram* | /dev/sr*) continue ;; esac
		if [ "$(dd if="$dev" bs=1 skip=4086 count=10 2>/dev/null)" = SWAPSPACE2 ]; then
			echo "$dev"
			return
		fi
	done
}

report_disks() {
	local root=$1 ephemeral swap disk pci
	ephemeral=$(wait_for_label "ephemeral0 EPHEMERAL0" 1)
	swap=$(find_swap_disk)
	say "disk root=$(disk_bytes "$root") ephemeral=$(disk_bytes "$ephemeral") swap=$(disk_bytes "$swap")"
	for disk in /sys/block/*; do
		is_reported_disk "${disk##*/}" && say "disk-present $(disk_facts "${disk##*/}")"
	done
	# "disk-pci <name> <PCI address> <root|ephemeral|swap|other>" of each virtio block device: where the guest has
	# it (the device metadata names tagged disks by that address) and what it found on it
	for disk in /sys/bus/pci/devices/*/virtio*/block/*; do
		[ -e "$disk" ] || continue
		pci=${disk%/virtio*/block/*}
		say "disk-pci ${disk##*/} ${pci##*/} $(disk_role "${disk##*/}" "$root" "$ephemeral" "$swap")"
	done
}

# root, ephemeral, swap or other: which of the disks report_disks found (device nodes $2 $3 $4) is disk $1.
disk_role() {
	[ -n "$2" ] && [ "$1" = "$(disk_name "$2")" ] && { echo root; return; }
	[ -n "$3" ] && [ "$1" = "$(disk_name "$3")" ] && { echo ephemeral; return; }
	[ -n "$4" ] && [ "$1" = "$(disk_name "$4")" ] && { echo swap; return; }
	echo other
}

# Port names arrive from the host shortly after the ports: wait up to 1 s for every port to have one.
wait_for_port_names() {
	local tries=0 port
	while [ "$tries" -lt 10 ]; do
		for port in /sys/class/virtio-ports/*; do
			[ -e "$port" ] && [ ! -s "$port/name" ] && break
			port=
		done
		[ -z "$port" ] && return
		sleep 0.1
		tries=$((tries + 1))
	done
}

load_modules
ip link set lo up
ROOT_DEV=$(wait_for_label NCROOT 100) || say "error=noroot"
[ -n "$ROOT_DEV" ] && count_boot "$ROOT_DEV"
report_machine
report_root_files
start_boot_dhcp
report_instance_metadata
report_disks "$ROOT_DEV"
wait_for_port_names
start_port_services
uevent "$NC_DIR/hotplug" </dev/null >/dev/null 2>&1 &
start_power_button_handler
say "ready"
start_user_script
start_shells

# PID 1 must never exit; waiting also reaps orphaned children.
while :; do
	sleep 3600 &
	wait
done
