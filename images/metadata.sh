# Finding and reporting the instance's metadata: the config drive (a filesystem labelled config-2, ISO 9660 or
# vfat), or else the metadata service at 169.254.169.254 once a NIC has a lease. Sourced by /init.

META_AWK=$NC_DIR/metadata.awk
MDS_GET=$NC_DIR/mds-get
MDS_DIR=/run/metadata
MDS_DEADLINE_S=10

# Mounts the config drive on /mnt/config; false (and "configdrive=none") when none appeared within 3 s.
mount_config_drive() {
	local dev
	dev=$(wait_for_label config-2 30) || { say "configdrive=none"; return 1; }
	mkdir -p /mnt/config
	mount -o ro "$dev" /mnt/config && return 0
	say "error=configmount"
	return 1
}

have_lease() {
	grep -qs ' ip=[0-9]' "$RUN_DIR"/nic.*
}

# Copies meta_data.json, user_data (when served) and the EC2 instance-id into $MDS_DIR, retrying for
# MDS_DEADLINE_S seconds; false (and "metadata-service=none") when the service never answered or no route
# leads to it.
fetch_metadata_service() {
	local latest=$MDS_DIR/openstack/latest deadline
	mkdir -p "$latest"
	if ! ip route get 169.254.169.254 >/dev/null 2>&1; then
		say "metadata-service=none"
		return 1
	fi
	deadline=$(($(uptime_seconds) + MDS_DEADLINE_S))
	until "$MDS_GET" /openstack/latest/meta_data.json >"$latest/meta_data.json" 2>/dev/null; do
		if [ "$(uptime_seconds)" -ge "$deadline" ]; then
			say "metadata-service=none"
			return 1
		fi
		sleep 1
	done
	"$MDS_GET" /openstack/latest/user_data >"$latest/user_data" 2>/dev/null || rm -f "$latest/user_data"
	"$MDS_GET" /latest/meta-data/instance-id >"$MDS_DIR/instance-id" 2>/dev/null || rm -f "$MDS_DIR/instance-id"
	return 0
}

# Reports everything from a metadata tree ($1: /mnt/config or $MDS_DIR) read with $2 (cat or mds-get).
report_metadata() {
	local root=$1 getter=$2 latest=$1/openstack/latest base=$1/openstack instance_id
	[ "$getter" = cat ] || base=/openstack
	if [ ! -f "$latest/meta_data.json" ]; then
		say "error=nometadata"
		return
	fi
	awk -v base="$base" -v getter="$getter" -v scratch=/tmp/nc.value -v hostname_file="$RUN_DIR/hostname" \
		-f "$META_AWK" "$latest/meta_data.json"
	[ -s "$RUN_DIR/hostname" ] && hostname "$(cat "$RUN_DIR/hostname")"
	if [ -f "$latest/user_data" ]; then
		set -- $(sha256sum "$latest/user_data")
		say "userdata $1"
		USER_DATA=$latest/user_data
	else
		say "userdata none"
	fi
	say "metajson $(base64 -w0 "$latest/meta_data.json")"
	if [ -f "$root/ec2/latest/meta-data.json" ]; then
		awk -v mode=ec2 -f "$META_AWK" "$root/ec2/latest/meta-data.json"
	elif [ -s "$root/instance-id" ]; then
		instance_id=$(cat "$root/instance-id")
		say "instance-id=$instance_id"
	fi
	[ -f "$root/meta.js" ] && say "metajs $(base64 -w0 "$root/meta.js")"
}

# User data that starts with "#!" is run as a script after ready: "userscript begin", "userscript out <line>"...,
# "userscript rc=<n>". Anything else (cloud-config, ...) is only hashed.
start_user_script() {
	[ -n "$USER_DATA" ] && [ "$(head -c 2 "$USER_DATA")" = "#!" ] || return 0
	cp "$USER_DATA" "$RUN_DIR/user-script"
	chmod 0755 "$RUN_DIR/user-script"
	run_tagged userscript "$RUN_DIR/user-script" </dev/null >/dev/null 2>&1 &
}
