#!/bin/bash
# Installs, runs, reinstalls and purges the .deb that packaging/build-packages.sh built, and
# checks the .rpm's file list and scripts. It changes the system (a package, a user, files
# under /etc, /usr, /var/lib and /run): for CI machines and throwaway containers, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(ls target/debian/flaskpaste_*.deb)
rpm=$(ls target/generate-rpm/flaskpaste-*.rpm)
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
mode_owner() { stat -c '%a %U:%G' "$1"; }
expect_mode() { [ "$(mode_owner "$1")" = "$2" ] || fail "$1 is $(mode_owner "$1"), not $2"; }

step "lintian"
lintian --fail-on error "$deb"

step "the .deb's contents"
contents=$(dpkg-deb --contents "$deb")
for f in usr/bin/flaskpaste usr/bin/fpaste etc/flaskpaste/flaskpaste.toml \
    usr/lib/systemd/system/flaskpaste.service usr/lib/systemd/system/flaskpaste.socket \
    usr/lib/systemd/system/flaskpaste-metrics.socket usr/share/doc/flaskpaste/examples/nginx.conf \
    usr/lib/sysusers.d/flaskpaste.conf usr/lib/tmpfiles.d/flaskpaste.conf \
    usr/share/man/man8/flaskpaste.8.gz usr/share/man/man5/flaskpaste.toml.5.gz \
    usr/share/man/man1/fpaste.1.gz usr/share/bash-completion/completions/fpaste \
    usr/share/zsh/vendor-completions/_fpaste usr/share/fish/vendor_completions.d/fpaste.fish; do
    grep -q " \./$f\$" <<<"$contents" || fail "$f is not in $deb"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/flaskpaste/flaskpaste.toml ||
    fail "flaskpaste.toml is not a conffile"

step "install"
dpkg -i "$deb"
getent passwd flaskpaste >/dev/null || fail "no flaskpaste user"
expect_mode /usr/bin/flaskpaste "755 root:root"
expect_mode /usr/bin/fpaste "755 root:root"
expect_mode /etc/flaskpaste/flaskpaste.toml "640 root:flaskpaste"
expect_mode /var/lib/flaskpaste "750 flaskpaste:flaskpaste"
version=$(flaskpaste --version)
for want in "config: /etc/flaskpaste/flaskpaste.toml" "db: /var/lib/flaskpaste/pastes.db" \
    "client: /usr/bin/fpaste"; do
    grep -qF "$want" <<<"$version" || fail "--version lacks '$want': $version"
done
runuser -u flaskpaste -- flaskpaste --check-config >/dev/null

step "a paste round trip as flaskpaste, socket-activated on the packaged path"
install -d -m 0755 -o flaskpaste -g flaskpaste /run/flaskpaste
sock=/run/flaskpaste/flaskpaste.sock
FLASKPASTE_POW_DIFFICULTY=0 runuser -u flaskpaste -- \
    systemd-socket-activate -l "$sock" --fdname=api \
    -E FLASKPASTE_POW_DIFFICULTY \
    /usr/bin/flaskpaste --config /etc/flaskpaste/flaskpaste.toml --listen sd-listen:api &
activator=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
created=$(curl -sS --unix-socket "$sock" --data-binary 'hello from the package' http://localhost/)
id=$(sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' <<<"$created")
[ -n "$id" ] || fail "no paste created: $created"
got=$(curl -sS --unix-socket "$sock" "http://localhost/$id/raw")
[ "$got" = "hello from the package" ] || fail "read back '$got'"
client=$(curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code} %{size_download}' http://localhost/client)
[ "$client" = "200 $(stat -c %s /usr/bin/fpaste)" ] || fail "GET /client: $client"
kill "$activator"
wait "$activator" || true
[ -s /var/lib/flaskpaste/pastes.db ] || fail "no database in /var/lib/flaskpaste"
expect_mode /var/lib/flaskpaste/pastes.db "600 flaskpaste:flaskpaste"

step "an edited conffile survives a reinstall"
echo "# edited by the administrator" >>/etc/flaskpaste/flaskpaste.toml
dpkg -i --force-confold "$deb"
grep -q "edited by the administrator" /etc/flaskpaste/flaskpaste.toml || fail "edit lost"

step "remove, then purge"
dpkg -r flaskpaste
[ ! -e /usr/bin/flaskpaste ] || fail "binary left after remove"
[ -e /etc/flaskpaste/flaskpaste.toml ] || fail "conffile gone on remove (policy: kept)"
dpkg -P flaskpaste
[ ! -e /etc/flaskpaste/flaskpaste.toml ] || fail "conffile left after purge"
dpkg -s flaskpaste >/dev/null 2>&1 && fail "package still known after purge"
# Policy lets user data outlive a purge; flaskpaste(8) says the database is kept.
[ -e /var/lib/flaskpaste/pastes.db ] || fail "the database was removed by purge"
rm -rf /var/lib/flaskpaste /run/flaskpaste

step "the .rpm"
files=$(rpm -qlp "$rpm")
for f in /usr/bin/flaskpaste /usr/bin/fpaste /etc/flaskpaste/flaskpaste.toml \
    /usr/lib/systemd/system/flaskpaste.service /usr/lib/systemd/system/flaskpaste.socket \
    /usr/lib/systemd/system/flaskpaste-metrics.socket \
    /usr/share/man/man1/fpaste.1 /usr/share/bash-completion/completions/fpaste; do
    grep -qx "$f" <<<"$files" || fail "$f is not in $rpm"
done
scripts=$(rpm -qp --scripts "$rpm")
for s in "postinstall scriptlet" "preuninstall scriptlet" "postuninstall scriptlet"; do
    grep -q "$s" <<<"$scripts" || fail "the .rpm has no $s"
done
rpm -qp --configfiles "$rpm" | grep -qx /etc/flaskpaste/flaskpaste.toml ||
    fail "flaskpaste.toml is not a config file in the .rpm"
echo "packages: all checks passed"
