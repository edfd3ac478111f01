#!/bin/sh
# busybox udhcpc event script ($1 = deconfig|bound|renew|leasefail|nak): applies the lease to $interface
# (address, routes, DNS) and reports "NCGUEST nic <ifname> mac=<mac> ip=<addr/prefix> gw=<gw>".
# Routes: DHCP option 121 (classless static routes, $staticroutes = "dest/prefix gw ...") when present, which per
# RFC 3442 replaces the router option; otherwise a default route via the first $router. Each interface's
# routes get metric 100 + ifindex, so with several NICs the first one's default route wins.
. /etc/nodecompute/lib.sh

STATE=$RUN_DIR/nic.$interface
MAC=$(cat "/sys/class/net/$interface/address" 2>/dev/null)
METRIC=$((100 + $(cat "/sys/class/net/$interface/ifindex" 2>/dev/null || echo 0)))

# Prints a line only when it differs from the last one printed for this interface (renewals stay quiet).
report() {
	[ "$(cat "$STATE" 2>/dev/null)" = "$1" ] && return
	echo "$1" >"$STATE"
	say "$1"
}

apply_routes() {
	local gw=none dest via
	if [ -n "$staticroutes" ]; then
		set -- $staticroutes
		while [ $# -ge 2 ]; do
			dest=$1 via=$2
			shift 2
			if [ "$via" = 0.0.0.0 ]; then
				ip route replace "$dest" dev "$interface" metric "$METRIC"
			else
				ip route replace "$dest" via "$via" dev "$interface" metric "$METRIC" onlink
			fi
			case "$dest" in 0.0.0.0/0) gw=$via ;; esac
		done
	elif [ -n "$router" ]; then
		set -- $router
		ip route replace default via "$1" dev "$interface" metric "$METRIC" onlink
		gw=$1
	fi
	echo "$gw"
}

apply_dns() {
	local server
	[ -n "$dns" ] || return
	{
		[ -n "$domain" ] && echo "search $domain"
		for server in $dns; do echo "nameserver $server"; done
	} >/etc/resolv.conf
}

case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/$mask "; then
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/$mask" ${broadcast:+broadcast "$broadcast"} dev "$interface"
	fi
	gw=$(apply_routes)
	apply_dns
	report "nic $interface mac=$MAC ip=$ip/$mask gw=$gw"
	;;
leasefail | nak)
	[ -f "$STATE" ] || report "nic $interface mac=$MAC ip=none"
	;;
esac
exit 0
