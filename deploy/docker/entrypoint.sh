#!/bin/sh
# The image's entry point: the first argument names the program
# (sbc, media-relay, sbc-admin, sbc-migrate); anything else runs as given.
set -e
case "$1" in
  sbc|media-relay|sbc-admin|sbc-migrate)
    prog=$1
    shift
    exec "/usr/local/bin/$prog" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
