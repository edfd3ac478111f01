#!/bin/sh
# chpasswd for the QEMU guest agent (busybox-static has no chpasswd applet): guest-set-user-password runs
# `chpasswd` (or `chpasswd -e` for an already hashed password) with "user:password" lines on stdin.
# Plain passwords are hashed with SHA-512 (busybox mkpasswd); /etc/shadow is rewritten in place.
encrypted=0
[ "$1" = -e ] && encrypted=1
while IFS= read -r line || [ -n "$line" ]; do
	user=${line%%:*}
	password=${line#*:}
	[ -n "$user" ] && [ "$user" != "$line" ] || { echo "chpasswd: bad line" >&2; exit 1; }
	grep -q "^$user:" /etc/shadow || { echo "chpasswd: unknown user $user" >&2; exit 1; }
	if [ "$encrypted" = 1 ]; then
		hash=$password
	else
		hash=$(printf '%s' "$password" | mkpasswd -m sha512 -P 0) || exit 1
	fi
	HASH=$hash awk -F: -v OFS=: -v user="$user" '$1 == user { $2 = ENVIRON["HASH"] } { print }' \
		/etc/shadow >/etc/shadow.new && mv /etc/shadow.new /etc/shadow || exit 1
done
