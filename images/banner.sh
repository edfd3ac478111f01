#!/bin/sh
# The program busybox nc runs for each connection to a `listen <port>` server: stdin/stdout are the connection.
. /etc/nodecompute/lib.sh
say "listen $1 accepted"
printf 'ncguest-banner host=%s port=%s\n' "$(hostname)" "$1"
