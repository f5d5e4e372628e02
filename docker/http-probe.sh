#!/bin/bash
# http-probe PORT PATH: exit 0 iff GET http://127.0.0.1:PORT/PATH answers 200.
# The containers' health check. Bash's /dev/tcp instead of curl (not in the image)
# or python (≈ 10× the CPU per probe, and probes run every second).
exec 3<>"/dev/tcp/127.0.0.1/${1:?port}" 2>/dev/null || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "${2:-/readyz}" >&3
IFS= read -r -t 3 status <&3 || exit 1
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) exit 1 ;;
esac
