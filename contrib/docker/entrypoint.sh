#!/bin/sh
# Starts hookarr as PUID:PGID (default 1000:1000) with /config (HOOKARR_DATA_DIR) owned by that user, the way
# linuxserver.io images do; a container started with --user runs as that user and is left alone.
set -eu
data="${HOOKARR_DATA_DIR:-/config}"
if [ "$(id -u)" = 0 ]; then
    uid="${PUID:-1000}"
    gid="${PGID:-1000}"
    mkdir -p "$data"
    # Only what is not already theirs: a large /config is not walked at every start.
    find "$data" \( ! -user "$uid" -o ! -group "$gid" \) -exec chown "$uid:$gid" {} +
    exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all -- "$@"
fi
exec "$@"
