#!/bin/sh
# Prints one document of the metadata service: $1 is its path (/openstack/latest/meta_data.json).
# busybox wget has no timeout option: `timeout` bounds each request.
exec timeout 3 wget -q -Y off -O - "http://169.254.169.254$1"
