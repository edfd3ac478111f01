# Reads an OpenStack meta_data.json and reports it as NCGUEST lines (busybox awk).
# Usage: awk -v base=/mnt/config/openstack -v getter=cat -v scratch=/tmp/nc.value \
#            [-v hostname_file=/run/ncguest/hostname] -f metadata.awk meta_data.json
#        awk -v mode=ec2 -f metadata.awk ec2/latest/meta-data.json      (prints instance-id=)
# `getter PATH` prints a document: cat on a config drive, mds-get (path under /openstack) for the metadata service.
#
# A small JSON parser flattens the document into leaves P[i] (path, components joined by SUBSEP) and V[i]
# (decoded value: UTF-8 bytes for strings, the literal token for numbers/true/false/null), in document order,
# so key order in the file does not matter. Then the report:
#   uuid=, name=, hostname=, az=, one "meta K=V" per meta entry, one "key NAME SHA256" per public key, and for
#   each files entry: copy base/<content_path> to <path> in the guest root, then "file PATH SHA256"; one
#   "device type=... bus=... address=... [mac=...] [serial=...] tags=a,b" per devices entry.
# Printed names/values show newline and CR as \n and \r; hashes are over the exact decoded bytes.

{ text = text $0 "\n" }

END {
	pos = 1
	n = 0
	if (getter == "")
		getter = "cat"
	skip_ws()
	parse_value("")
	if (mode == "ec2")
		say("instance-id=" shown(get("instance-id")))
	else
		report()
}

function fail(what) {
	print "NCGUEST error=metajson " what " at " pos
	exit 1
}

function skip_ws(   c) {
	while (1) {
		c = substr(text, pos, 1)
		if (c != " " && c != "\t" && c != "\n" && c != "\r")
			return
		pos++
	}
}

function join(path, key) {
	return path == "" ? key : path SUBSEP key
}

function add_leaf(path, value) {
	n++
	P[n] = path
	V[n] = value
	IDX[path] = n
}

function parse_value(path,   c, tok) {
	c = substr(text, pos, 1)
	if (c == "{")
		return parse_object(path)
	if (c == "[")
		return parse_array(path)
	if (c == "\"") {
		add_leaf(path, parse_string())
		return
	}
	if (!match(substr(text, pos, 64), /^(-?[0-9][0-9.eE+-]*|true|false|null)/))
		fail("bad value")
	tok = substr(text, pos, RLENGTH)
	pos += RLENGTH
	add_leaf(path, tok)
}

function parse_object(path,   key) {
	pos++
	skip_ws()
	if (substr(text, pos, 1) == "}") {
		pos++
		return
	}
	while (1) {
		skip_ws()
		if (substr(text, pos, 1) != "\"")
			fail("expected key")
		key = parse_string()
		skip_ws()
		if (substr(text, pos, 1) != ":")
			fail("expected colon")
		pos++
		skip_ws()
		parse_value(join(path, key))
		skip_ws()
		if (substr(text, pos, 1) == "}") {
			pos++
			return
		}
		if (substr(text, pos, 1) != ",")
			fail("expected comma in object")
		pos++
	}
}

function parse_array(path,   i) {
	pos++
	skip_ws()
	if (substr(text, pos, 1) == "]") {
		pos++
		return
	}
	for (i = 0; ; i++) {
		skip_ws()
		parse_value(join(path, i))
		skip_ws()
		if (substr(text, pos, 1) == "]") {
			pos++
			return
		}
		if (substr(text, pos, 1) != ",")
			fail("expected comma in array")
		pos++
	}
}

# Decodes the JSON string starting at pos (on its opening quote); leaves pos after the closing quote.
function parse_string(   out, chunk, c, cp, lo) {
	pos++
	out = ""
	while (1) {
		chunk = substr(text, pos, 4096)
		if (chunk == "")
			fail("unterminated string")
		if (!match(chunk, /["\\]/)) {
			out = out chunk
			pos += length(chunk)
			continue
		}
		out = out substr(chunk, 1, RSTART - 1)
		pos += RSTART
		if (substr(chunk, RSTART, 1) == "\"")
			return out
		c = substr(text, pos, 1)
		pos++
		if (c == "n") out = out "\n"
		else if (c == "t") out = out "\t"
		else if (c == "r") out = out "\r"
		else if (c == "b") out = out "\b"
		else if (c == "f") out = out "\f"
		else if (c == "u") {
			cp = hex_value(substr(text, pos, 4))
			pos += 4
			if (cp >= 55296 && cp < 56320 && substr(text, pos, 2) == "\\u") {
				lo = hex_value(substr(text, pos + 2, 4))
				if (lo >= 56320 && lo < 57344) {
					cp = 65536 + (cp - 55296) * 1024 + (lo - 56320)
					pos += 6
				}
			}
			out = out utf8(cp)
		} else out = out c
	}
}

function hex_value(h,   i, v) {
	v = 0
	h = tolower(h)
	for (i = 1; i <= 4; i++)
		v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
	return v
}

function utf8(cp) {
	if (cp == 0)
		return ""
	if (cp < 128)
		return sprintf("%c", cp)
	if (cp < 2048)
		return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
	if (cp < 65536)
		return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
	return sprintf("%c%c%c%c", 240 + int(cp / 262144), 128 + int(cp / 4096) % 64,
		128 + int(cp / 64) % 64, 128 + cp % 64)
}

function get(path) {
	return (path in IDX) ? V[IDX[path]] : ""
}

function shown(s) {
	gsub(/\n/, "\\n", s)
	gsub(/\r/, "\\r", s)
	return s
}

function say(line) {
	print "NCGUEST " line
	fflush()
}

function shell_quoted(s) {
	gsub(/'/, "'\\''", s)
	return "'" s "'"
}

function sha256_of_file(file,   cmd, line) {
	cmd = "sha256sum " shell_quoted(file)
	line = ""
	cmd | getline line
	close(cmd)
	return substr(line, 1, 64)
}

function sha256_of_string(s) {
	printf "%s", s > scratch
	close(scratch)
	return sha256_of_file(scratch)
}

# Children of `prefix` that are leaves exactly one level below it, e.g. meta<SUBSEP>KEY.
function child_key(path, prefix,   rest) {
	if (index(path, prefix SUBSEP) != 1)
		return ""
	rest = substr(path, length(prefix) + 2)
	return index(rest, SUBSEP) ? "" : rest
}

function copy_file(src, dst,   dir) {
	dir = dst
	sub(/\/[^\/]*$/, "", dir)
	if (dir == "")
		dir = "/"
	return system("mkdir -p " shell_quoted(dir) " && " getter " " shell_quoted(src) " > " shell_quoted(dst))
}

function report_files(   k, path, src) {
	for (k = 0; (join(join("files", k), "path") in IDX); k++) {
		path = get(join(join("files", k), "path"))
		src = base "/" get(join(join("files", k), "content_path"))
		gsub(/\/\/+/, "/", src)
		if (copy_file(src, path) != 0) {
			say("file " shown(path) " error")
			continue
		}
		say("file " shown(path) " " sha256_of_file(path))
	}
}

# Nova's tagged devices: type, bus, address, then mac (nics) or serial (disks) when present, then the tags.
function report_devices(   k, prefix, line, field, fields, t, tags) {
	split("bus address mac serial", fields, " ")
	for (k = 0; (join(join("devices", k), "type") in IDX); k++) {
		prefix = join("devices", k)
		line = "device type=" shown(get(join(prefix, "type")))
		for (field = 1; field <= 4; field++)
			if (join(prefix, fields[field]) in IDX)
				line = line " " fields[field] "=" shown(get(join(prefix, fields[field])))
		tags = ""
		for (t = 0; (join(join(prefix, "tags"), t) in IDX); t++)
			tags = tags (t ? "," : "") shown(get(join(join(prefix, "tags"), t)))
		say(line " tags=" tags)
	}
}

function report(   i, key) {
	if (hostname_file != "") {
		printf "%s", get("hostname") > hostname_file
		close(hostname_file)
	}
	say("uuid=" shown(get("uuid")))
	say("name=" shown(get("name")))
	say("hostname=" shown(get("hostname")))
	say("az=" shown(get("availability_zone")))
	for (i = 1; i <= n; i++) {
		key = child_key(P[i], "meta")
		if (key != "")
			say("meta " shown(key) "=" shown(V[i]))
	}
	for (i = 1; i <= n; i++) {
		key = child_key(P[i], "public_keys")
		if (key != "")
			say("key " shown(key) " " sha256_of_string(V[i]))
	}
	report_files()
	report_devices()
}
