#!/bin/bash
# The container's HEALTHCHECK: hookarr's /readyz answers 200 (database writable, workers running). bash's
# /dev/tcp, so the image needs no HTTP client.
set -eu
port="${HOOKARR_HEALTHCHECK_PORT:-9494}"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 5 status_line <&3
case "$status_line" in
    *" 200 "*) exit 0 ;;
    *) echo "hookarr not ready: $status_line" >&2; exit 1 ;;
esac
