#!/bin/busybox sh
# /init (PID 1) of the nodecompute test guest. Every report line goes to the serial console prefixed "NCGUEST ".
# See images/README.md for the meaning of each line.

/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
dmesg -n 1

KVER=$(uname -r)
META_AWK=/etc/nodecompute/metadata.awk

say() {
	printf 'NCGUEST %s\n' "$*"
}

load_modules() {
	local module
	while read -r module; do
		insmod "/lib/modules/$KVER/$module" 2>/dev/null
	done </etc/nodecompute/modules.list
}

# Prints the device holding the filesystem labelled $1 (any of the given labels), waiting up to $2 tenths of a second.
wait_for_label() {
	local tries=0 label
	while [ "$tries" -lt "$2" ]; do
		for label in $1; do
			findfs "LABEL=$label" 2>/dev/null && return 0
		done
		sleep 0.1
		tries=$((tries + 1))
	done
	return 1
}

# Whole-disk name of a device node: /dev/vda -> vda, /dev/sda1 -> sda.
disk_name() {
	local name=${1##*/}
	if [ -e "/sys/class/block/$name/partition" ]; then
		name=$(readlink -f "/sys/class/block/$name/..")
		name=${name##*/}
	fi
	echo "$name"
}

disk_bytes() {
	[ -n "$1" ] || { echo 0; return; }
	echo $(($(cat "/sys/block/$(disk_name "$1")/size") * 512))
}

count_boot() {
	local root=$1 count
	mkdir -p /mnt/root
	if ! mount -t vfat -o rw "$root" /mnt/root; then
		say "error=rootmount"
		return
	fi
	count=$(cat /mnt/root/bootcount 2>/dev/null)
	case "$count" in '' | *[!0-9]*) count=0 ;; esac
	count=$((count + 1))
	echo "$count" >/mnt/root/bootcount
	sync
	say "boot=$count"
}

report_config_drive() {
	local dev drive=/mnt/config/openstack
	dev=$(wait_for_label config-2 30) || { say "configdrive=none"; return; }
	mkdir -p /mnt/config
	if ! mount -o ro "$dev" /mnt/config; then
		say "error=configmount"
		return
	fi
	if [ ! -f "$drive/latest/meta_data.json" ]; then
		say "error=nometadata"
		return
	fi
	awk -v base="$drive" -v scratch=/tmp/nc.value -f "$META_AWK" "$drive/latest/meta_data.json"
	if [ -f "$drive/latest/user_data" ]; then
		set -- $(sha256sum "$drive/latest/user_data")
		say "userdata $1"
	else
		say "userdata none"
	fi
	say "metajson $(base64 -w0 "$drive/latest/meta_data.json")"
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
	local root=$1 ephemeral swap
	ephemeral=$(wait_for_label "ephemeral0 EPHEMERAL0" 1)
	swap=$(find_swap_disk)
	say "disk root=$(disk_bytes "$root") ephemeral=$(disk_bytes "$ephemeral") swap=$(disk_bytes "$swap")"
}

start_power_button_handler() {
	mkdir -p /var/log
	acpid -c /etc/acpi -l /var/log/acpid.log
}

load_modules
ROOT_DEV=$(wait_for_label NCROOT 100) || say "error=noroot"
[ -n "$ROOT_DEV" ] && count_boot "$ROOT_DEV"
report_config_drive
report_disks "$ROOT_DEV"
start_power_button_handler
say "ready"

# PID 1 must never exit; waiting also reaps orphaned children.
while :; do
	sleep 3600 &
	wait
done
