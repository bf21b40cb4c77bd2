#!/bin/sh
# Builds the Debian and RPM packages with the packaged default paths compiled in.
# Needs: cargo install cargo-deb cargo-generate-rpm
set -eu
cd "$(dirname "$0")/.."
export FLASKPASTE_DEFAULT_CONFIG=/etc/flaskpaste/flaskpaste.toml
export FLASKPASTE_DEFAULT_DB=/var/lib/flaskpaste/pastes.db
export FLASKPASTE_DEFAULT_CLIENT=/usr/bin/fpaste
cargo build --release --locked
cargo deb --no-build
cargo generate-rpm
ls target/debian/*.deb target/generate-rpm/*.rpm
