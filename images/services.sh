# Long-running guest services, started by /init at boot and by hotplug.sh when hardware appears (busybox sh).

CHANNEL_PORT_NAME=org.nodecompute.test.0
AGENT_PORT_NAME=org.qemu.guest_agent.0

# Ethernet NICs (not lo, not virtual devices).
is_guest_nic() {
	[ -e "/sys/class/net/$1/device" ]
}

# DHCP on one NIC with busybox udhcpc and our hook (udhcpc-hook.sh prints the "nic" line). Returns once the NIC
# has a lease or after 3 unanswered discovers (about 3 s); udhcpc then keeps trying in the background.
start_dhcp() {
	local ifname=$1
	ip link set "$ifname" up
	udhcpc -i "$ifname" -s "$NC_DIR/udhcpc-hook" -p "$RUN_DIR/udhcpc.$ifname.pid" -b -t 3 -T 1 -A 5 \
		-O staticroutes >/dev/null 2>&1
}

stop_dhcp() {
	[ -f "$RUN_DIR/udhcpc.$1.pid" ] && kill "$(cat "$RUN_DIR/udhcpc.$1.pid")" 2>/dev/null
	rm -f "$RUN_DIR/udhcpc.$1.pid" "$RUN_DIR/nic.$1"
}

# Starts the command channel and the guest agent on their virtio-serial ports, each once.
start_port_services() {
	local port
	if port=$(virtio_port "$CHANNEL_PORT_NAME") && mkdir "$RUN_DIR/channel.started" 2>/dev/null; then
		"$NC_DIR/channel" "$port" </dev/null >/dev/null 2>&1 &
		say "channel $CHANNEL_PORT_NAME ${port#/dev/}"
	fi
	if port=$(virtio_port "$AGENT_PORT_NAME") && mkdir "$RUN_DIR/qga.started" 2>/dev/null; then
		qemu-ga -m virtio-serial -p "$port" -t /run -f /run/qemu-ga.pid -l /var/log/qemu-ga.log \
			</dev/null >/dev/null 2>&1 &
		say "qga started"
	fi
}

# Respawning shells. On tty1 (the VGA console) a plain sh whose output is copied to ttyS0 too, so what is typed
# on the screen shows in the serial log. On ttyS0 an interactive sh, started by the first line typed there (run
# first; an empty line just starts the shell), so an idle serial log gets no banner or prompt after "ready".
start_shells() {
	export ENV=$NC_DIR/profile.sh
	(
		while :; do
			echo "nodecompute test guest: tty1 shell (its output is copied to ttyS0)" >/dev/tty1
			setsid -c sh -c '{ . "$ENV"; . /dev/tty1; } 2>&1 | tee /dev/tty1 >/dev/ttyS0' </dev/tty1 >/dev/tty1 2>&1
			sleep 1
		done
	) &
	(
		while :; do
			IFS= read -r line </dev/ttyS0 || { sleep 1; continue; }
			line=${line%"$(printf '\r')"}
			[ -n "$line" ] && sh -c ". \"\$ENV\"; $line" </dev/null >/dev/ttyS0 2>&1
			setsid -c sh -i </dev/ttyS0 >/dev/ttyS0 2>&1
		done
	) &
}

start_power_button_handler() {
	acpid -c /etc/acpi -l /var/log/acpid.log
}
