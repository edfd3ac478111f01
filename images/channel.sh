#!/bin/sh
# The run-time command channel: reads one command per line from the virtio-serial port given as $1
# (org.nodecompute.test.0) and runs each in sh, in parallel, reporting on the serial console (and echoing the
# same lines back on the port): "cmd <id> begin", "cmd <id> out <line>"..., "cmd <id> rc=<n>".
# A line "@<id> <command>" names its id ([A-Za-z0-9_.:-]+); any other line gets the next number 1, 2, ...
. /etc/nodecompute/lib.sh
. /etc/nodecompute/profile.sh

PORT=$1
CR=$(printf '\r')

# Also answer on the port; a write fails harmlessly while no host end is connected.
echo_to() {
	printf 'NCGUEST %s\n' "$*" >&3 2>/dev/null
}

exec 3<>"$PORT" || exit 1
count=0
while :; do
	if ! IFS= read -r line <&3; then
		# While no host end is connected a read returns EOF at once: poll.
		sleep 0.5
		continue
	fi
	line=${line%"$CR"}
	[ -n "$line" ] || continue
	count=$((count + 1))
	id=$count
	case "$line" in
	@*)
		token=${line%% *}
		token=${token#@}
		case "$token" in
		'' | *[!A-Za-z0-9_.:-]*) ;;
		*)
			id=$token
			line=${line#@"$token"}
			line=${line# }
			;;
		esac
		;;
	esac
	run_tagged "cmd $id" "$line" &
done
