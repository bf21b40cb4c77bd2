#!/bin/sh
# The database in /var/lib/flaskpaste is kept: pastes are user data.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
