#!/bin/sh
# The test guest's own commands: one multi-call script, installed as /usr/local/bin/ncguest-command with a
# symlink per command on PATH; `ncguest-command <name> <args>` works too. `uptime` is also a busybox applet, which
# busybox sh prefers to PATH: profile.sh puts a function in front of it. See images/README.md, "Commands".
# A command that leaves a process running redirects that process's output away from the caller: the caller's
# "rc=" line waits until every writer of its output pipe is gone.

. /etc/nodecompute/lib.sh

# uptime on|off: "NCGUEST tick <seconds from /proc/uptime>" every second while on. Plain `uptime` is busybox's.
uptime() {
	case "$1" in
	on) ticker_on ;;
	off) stop_pidfile "$RUN_DIR/ticker.pid" ;;
	*) busybox uptime "$@" ;;
	esac
}

ticker_on() {
	pid_alive "$RUN_DIR/ticker.pid" && return 0
	(
		while :; do
			read -r up idle </proc/uptime
			say "tick $up"
			sleep 1
		done
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$RUN_DIR/ticker.pid"
}

pid_alive() {
	[ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pidfile() {
	pid_alive "$1" && kill "$(cat "$1")"
	rm -f "$1"
	return 0
}

# busy <seconds> [<workers>]: that many CPU-bound shell loops for that long (default one worker).
busy() {
	local seconds=${1:?busy: seconds} workers=${2:-1} i pids=
	for i in $(seq "$workers"); do
		timeout "$seconds" sh -c 'while :; do :; done' 2>/dev/null &
		pids="$pids $!"
	done
	wait $pids 2>/dev/null  # each worker ends by SIGTERM: no "Terminated" notice
	echo "busy $seconds s x $workers done"
}

# listen <port>: a TCP server (busybox nc) answering every connection with one banner line; unlisten <port>.
listen() {
	local port=${1:?listen: port}
	stop_pidfile "$RUN_DIR/listen.$port.pid"
	nc -ll -p "$port" -e "$NC_DIR/banner" "$port" </dev/null >/dev/null 2>&1 &
	echo $! >"$RUN_DIR/listen.$port.pid"
	echo "listening $port"
}

unlisten() {
	stop_pidfile "$RUN_DIR/listen.${1:?unlisten: port}.pid"
	echo "stopped $1"
}

# connect <ip> <port>: opens a TCP connection, prints what the server sends until it closes (at most 10 s).
connect() {
	timeout 10 nc -w 3 "${1:?connect: ip}" "${2:?connect: port}" </dev/null
}

# mark <dev> <text>: writes "NCMARK:<text>\n" zero-padded into the disk's first 512 bytes and syncs.
mark() {
	local dev=/dev/${1#/dev/}
	shift
	printf '%s%s\n' "$MARKER_PREFIX" "$*" | dd of="$dev" bs=512 count=1 conv=sync,notrunc,fsync 2>/dev/null || return 1
	sync
	blockdev --flushbufs "$dev"
	echo "marked ${dev#/dev/}"
}

# readmark <dev>: the disk's marker text, or "none".
readmark() {
	read_marker "${1:?readmark: dev}"
}

# writefile <name> <text>: writes <text> to ncfiles/<name> on the root disk and syncs; readfile <name> prints it.
writefile() {
	local name=${1:?writefile: name}
	valid_file_name "$name" || return 2
	shift
	mkdir -p "$ROOT_FILES" && printf '%s\n' "$*" >"$ROOT_FILES/$name" && sync && echo "wrote $name"
}

readfile() {
	valid_file_name "${1:?readfile: name}" || return 2
	cat "$ROOT_FILES/$1"
}

valid_file_name() {
	case "$1" in
	'' | .* | *[!A-Za-z0-9._-]*) echo "bad file name: $1 (letters, digits, . _ - only)" >&2; return 1 ;;
	esac
}

# pwhash <user>: the user's password hash field in /etc/shadow.
pwhash() {
	awk -F: -v user="${1:?pwhash: user}" '$1 == user { print $2; found = 1 } END { exit !found }' /etc/shadow
}

COMMANDS="uptime busy listen unlisten connect mark readmark writefile readfile pwhash"
name=${0##*/}
if [ "$name" = ncguest-command ]; then
	name=$1
	shift
fi
case " $COMMANDS " in
*" $name "*) "$name" "$@" ;;
*) echo "usage: ncguest-command COMMAND ARGS, COMMAND one of: $COMMANDS" >&2; exit 2 ;;
esac
