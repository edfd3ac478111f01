# Sourced by the command channel and the tty1/ttyS0 shells (ENV): busybox sh runs its own applets before
# anything on PATH, so the guest's `uptime on|off` needs a function in front of busybox's uptime applet.
# Scripts (user data) call `ncguest-command uptime on` or source this file first.
uptime() {
	case "$1" in
	on | off) ncguest-command uptime "$@" ;;
	*) busybox uptime "$@" ;;
	esac
}
