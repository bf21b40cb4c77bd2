#!/bin/sh
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers flaskpaste.conf
elif ! getent passwd flaskpaste >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/flaskpaste --no-create-home \
        --shell /usr/sbin/nologin --comment "FlaskPaste pastebin" flaskpaste
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles --create flaskpaste.conf
else
    install -d -m 0750 -o flaskpaste -g flaskpaste /var/lib/flaskpaste
fi
chgrp flaskpaste /etc/flaskpaste/flaskpaste.toml
chmod 0640 /etc/flaskpaste/flaskpaste.toml
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
