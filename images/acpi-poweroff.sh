#!/bin/sh
# ACPI power button handler, installed as /etc/acpi/PWRF/00000080 (busybox acpid runs it on KEY_POWER).
# `virsh shutdown` / QMP system_powerdown end up here: stop the uptime ticker (so "poweroff" is the last line),
# report, flush and unmount the root disk, power off.
[ -f /run/ncguest/ticker.pid ] && kill "$(cat /run/ncguest/ticker.pid)" 2>/dev/null
echo "NCGUEST poweroff" > /dev/console
sync
umount /mnt/config 2>/dev/null
umount /mnt/root 2>/dev/null || mount -o remount,ro /mnt/root 2>/dev/null
sync
poweroff -f
