# Shared helpers of the test guest, sourced by /init and every helper script (busybox sh).
# See images/README.md for the NCGUEST serial protocol these functions print.

NC_DIR=/etc/nodecompute
ROOT_MNT=/mnt/root
ROOT_FILES=$ROOT_MNT/ncfiles
RUN_DIR=/run/ncguest
MARKER_PREFIX=NCMARK:

# One report line on the serial console. A single write per line, so lines from parallel writers never mix.
say() {
	printf 'NCGUEST %s\n' "$*" >/dev/console
}

# Runs a command line in sh and reports it as "<tag> begin", "<tag> out <line>"..., "<tag> rc=<n>".
# Extra report lines go wherever the function `echo_to` (if defined by the caller) sends them too.
run_tagged() {
	local tag=$1 command=$2 rc
	tagged_say "$tag begin"
	(
		set -o pipefail
		(eval "$command") </dev/null 2>&1 | while IFS= read -r out || [ -n "$out" ]; do
			tagged_say "$tag out $out"
		done
	)
	rc=$?
	tagged_say "$tag rc=$rc"
	return "$rc"
}

tagged_say() {
	say "$@"
	command -v echo_to >/dev/null && echo_to "$@"
	return 0
}

# Prints the device holding the filesystem labelled $1 (any of the given labels), waiting up to $2 tenths of a
# second (by the clock: under a loaded host each findfs takes a while).
wait_for_label() {
	local deadline=$(($(uptime_centiseconds) + $2 * 10)) label
	while :; do
		for label in $1; do
			findfs "LABEL=$label" 2>/dev/null && return 0
		done
		[ "$(uptime_centiseconds)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
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

# The text after NCMARK: on the first line of the disk's first 512 bytes, or "none".
read_marker() {
	local dev=/dev/${1#/dev/} head
	blockdev --flushbufs "$dev" 2>/dev/null
	head=$(dd if="$dev" bs=512 count=1 2>/dev/null | tr -d '\000' | head -n 1)
	case "$head" in
	"$MARKER_PREFIX"*) echo "${head#"$MARKER_PREFIX"}" ;;
	*) echo none ;;
	esac
}

# "<name> sectors=<n> serial=<serial> marker=<text>" for a whole disk (virtio-blk serial, "none" when unset).
disk_facts() {
	local name=$1 serial
	serial=$(cat "/sys/block/$name/serial" 2>/dev/null)
	echo "$name sectors=$(cat "/sys/block/$name/size") serial=${serial:-none} marker=$(read_marker "$name")"
}

# Guest disks worth reporting: virtio, SCSI/SATA and Xen disks (not cdroms, loops or ramdisks).
is_reported_disk() {
	case "$1" in vd* | sd* | xvd* | hd*) [ ! -e "/sys/class/block/$1/partition" ] ;; *) return 1 ;; esac
}

# The /dev node of the virtio-serial port named $1 (/sys/class/virtio-ports/vportNpM/name), if present.
virtio_port() {
	local port
	for port in /sys/class/virtio-ports/*; do
		[ "$(cat "$port/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${port##*/}"; return 0; }
	done
	return 1
}

# Seconds since boot from /proc/uptime (whole seconds).
uptime_seconds() {
	local up idle
	read -r up idle </proc/uptime
	echo "${up%.*}"
}

# Hundredths of a second since boot ("12.08" -> 1208; the "1" prefix keeps "08" from reading as octal).
uptime_centiseconds() {
	local up idle
	read -r up idle </proc/uptime
	echo $((${up%.*} * 100 + 1${up#*.} - 100))
}
