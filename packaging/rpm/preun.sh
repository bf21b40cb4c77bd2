#!/bin/sh
# $1 is 0 when the package is being removed (not upgraded).
if [ "$1" = "0" ] && [ -d /run/systemd/system ]; then
    systemctl stop flaskpaste.service flaskpaste.socket || true
    systemctl disable flaskpaste.service flaskpaste.socket || true
fi
