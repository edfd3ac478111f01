#!/bin/bash
# Builds the nodecompute test guest disk image OFFLINE from installed Debian packages (see images/README.md).
# Output: $NODECOMPUTE_IMAGE_OUT (default images/out)/nodecompute-testguest.qcow2; the path is the last stdout line.
# Cached: when the recipe files, kernel version and busybox binary are unchanged, nothing is rebuilt.
set -euo pipefail

RECIPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${NODECOMPUTE_IMAGE_OUT:-$RECIPE_DIR/out}
IMAGE_NAME=nodecompute-testguest
DISK_MIB=${NODECOMPUTE_IMAGE_MIB:-32}
RECIPE_FILES=(build.sh init.sh lib.sh profile.sh services.sh metadata.sh metadata.awk mds-get.sh udhcpc-hook.sh hotplug.sh
	channel.sh commands.sh banner.sh chpasswd.sh acpi-poweroff.sh syslinux.cfg modules.txt)
BUSYBOX=/bin/busybox
QEMU_GA=/usr/sbin/qemu-ga

log() { echo "build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

require_tools() {
	local tool
	for tool in mkfs.vfat mcopy syslinux cpio gzip qemu-img modprobe flock sha256sum ldd; do
		command -v "$tool" >/dev/null || die "missing tool $tool (see images/README.md for the Debian packages)"
	done
	[ -x "$BUSYBOX" ] && "$BUSYBOX" --list | grep -x acpid >/dev/null || die "need a static busybox at $BUSYBOX (busybox-static)"
	[ -x "$QEMU_GA" ] || die "need the QEMU guest agent at $QEMU_GA (qemu-guest-agent)"
}

# The guest agent's shared libraries and ELF interpreter, as absolute paths (resolved on this host with ldd).
agent_libraries() {
	ldd "$QEMU_GA" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u
}

# Newest installed Debian cloud kernel, unless NODECOMPUTE_GUEST_KVER names one.
pick_kernel_version() {
	if [ -n "${NODECOMPUTE_GUEST_KVER:-}" ]; then
		echo "$NODECOMPUTE_GUEST_KVER"
		return
	fi
	local newest
	newest=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$newest" ] || die "no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)"
	echo "${newest#/boot/vmlinuz-}"
}

cache_key() {
	local kver=$1 file
	{
		for file in "${RECIPE_FILES[@]}"; do
			echo "== $file"
			cat "$RECIPE_DIR/$file"
		done
		echo "== kernel $kver"
		echo "== disk $DISK_MIB"
		sha256sum "$BUSYBOX" "$QEMU_GA" $(agent_libraries | xargs readlink -f)
	} | sha256sum | cut -d' ' -f1
}

# Module paths (relative to /lib/modules/KVER) in load order, dependencies first, each once.
resolve_modules() {
	local kver=$1 module
	grep -v -e '^#' -e '^[[:space:]]*$' "$RECIPE_DIR/modules.txt" | while read -r module; do
		modprobe --show-depends -S "$kver" "$module" || die "unknown module $module for $kver"
	done | awk -v prefix="/lib/modules/$kver/" '$1 == "insmod" { sub(prefix, "", $2); if (!seen[$2]++) print $2 }'
}

# The root account (password locked until the guest agent sets one) for guest-set-user-password and `pwhash`.
add_accounts() {
	local etc=$1
	echo 'root:x:0:0:root:/root:/bin/sh' >"$etc/passwd"
	echo 'root:x:0:' >"$etc/group"
	echo 'root:!:19000:0:99999:7:::' >"$etc/shadow"
	chmod 0600 "$etc/shadow"
}

add_guest_agent() {
	local tree=$1 library
	install -D -m 0755 "$QEMU_GA" "$tree/usr/sbin/qemu-ga"
	for library in $(agent_libraries); do
		install -D -m 0755 "$(readlink -f "$library")" "$tree$library"
	done
	install -m 0755 "$RECIPE_DIR/chpasswd.sh" "$tree/usr/sbin/chpasswd"
}

add_commands() {
	local tree=$1 name
	install -D -m 0755 "$RECIPE_DIR/commands.sh" "$tree/usr/local/bin/ncguest-command"
	for name in $(sed -n 's/^COMMANDS="\(.*\)"$/\1/p' "$RECIPE_DIR/commands.sh"); do
		ln -s ncguest-command "$tree/usr/local/bin/$name"
	done
}

make_initramfs_tree() {
	local kver=$1 tree=$2 module nc=$2/etc/nodecompute
	mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,run,root,var/log,etc/acpi/PWRF} "$nc"
	ln -s ../run "$tree/var/run"
	cp "$BUSYBOX" "$tree/bin/busybox"
	ln -s busybox "$tree/bin/sh"
	install -m 0755 "$RECIPE_DIR/init.sh" "$tree/init"
	install -m 0644 "$RECIPE_DIR"/{lib.sh,profile.sh,services.sh,metadata.sh,metadata.awk} "$nc/"
	install -m 0755 "$RECIPE_DIR/mds-get.sh" "$nc/mds-get"
	install -m 0755 "$RECIPE_DIR/udhcpc-hook.sh" "$nc/udhcpc-hook"
	install -m 0755 "$RECIPE_DIR/hotplug.sh" "$nc/hotplug"
	install -m 0755 "$RECIPE_DIR/channel.sh" "$nc/channel"
	install -m 0755 "$RECIPE_DIR/banner.sh" "$nc/banner"
	install -m 0755 "$RECIPE_DIR/acpi-poweroff.sh" "$tree/etc/acpi/PWRF/00000080"
	add_commands "$tree"
	add_accounts "$tree/etc"
	add_guest_agent "$tree"
	resolve_modules "$kver" >"$nc/modules.list"
	while read -r module; do
		install -D -m 0644 "/lib/modules/$kver/$module" "$tree/lib/modules/$kver/$module"
	done <"$nc/modules.list"
}

make_initramfs() {
	local tree=$1 output=$2
	find "$tree" -exec touch -h -d @0 {} +
	(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc --owner=0:0 --reproducible) | gzip -9 -n >"$output"
}

# A partitionless FAT disk labelled NCROOT holding kernel + initramfs, made bootable by syslinux.
make_root_disk() {
	local kver=$1 initrd=$2 disk=$3 payload
	payload=$(($(stat -c %s "/boot/vmlinuz-$kver") + $(stat -c %s "$initrd")))
	[ "$payload" -lt $(((DISK_MIB - 2) * 1024 * 1024)) ] || die "kernel+initramfs ($payload bytes) do not fit in $DISK_MIB MiB"
	truncate -s "${DISK_MIB}M" "$disk"
	mkfs.vfat -n NCROOT -i 4e43524f "$disk" >/dev/null
	mcopy -i "$disk" "/boot/vmlinuz-$kver" ::/vmlinuz
	mcopy -i "$disk" "$initrd" ::/initrd.gz
	mcopy -i "$disk" "$RECIPE_DIR/syslinux.cfg" ::/syslinux.cfg
	syslinux --install "$disk"
}

build() {
	local kver=$1 work=$2 image=$3
	make_initramfs_tree "$kver" "$work/initramfs"
	make_initramfs "$work/initramfs" "$work/initrd.gz"
	make_root_disk "$kver" "$work/initrd.gz" "$work/root.img"
	qemu-img convert -f raw -O qcow2 "$work/root.img" "$work/$IMAGE_NAME.qcow2"
	cp "$work/initrd.gz" "$OUT_DIR/$IMAGE_NAME.initrd.gz"
	mv "$work/$IMAGE_NAME.qcow2" "$image"
}

main() {
	require_tools
	mkdir -p "$OUT_DIR"
	OUT_DIR=$(cd "$OUT_DIR" && pwd)
	local kver key image=$OUT_DIR/$IMAGE_NAME.qcow2 stamp=$OUT_DIR/$IMAGE_NAME.key
	kver=$(pick_kernel_version)
	[ -f "/boot/vmlinuz-$kver" ] && [ -d "/lib/modules/$kver" ] || die "kernel $kver is not fully installed"
	key=$(cache_key "$kver")
	exec 9>"$OUT_DIR/.$IMAGE_NAME.lock"
	flock 9
	if [ -f "$image" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
		log "up to date (kernel $kver)"
		echo "$image"
		return
	fi
	log "building for kernel $kver"
	BUILD_DIR=$(mktemp -d "$OUT_DIR/.build.XXXXXX")
	trap 'rm -rf "$BUILD_DIR"' EXIT
	rm -f "$stamp"
	build "$kver" "$BUILD_DIR" "$image"
	echo "$key" >"$stamp"
	log "built $(stat -c %s "$image") bytes"
	echo "$image"
}

main "$@"
