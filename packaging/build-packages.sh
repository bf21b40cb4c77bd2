#!/bin/sh
# Builds the Debian and RPM packages with the packaged default paths compiled in.
# Needs: cargo install cargo-deb cargo-generate-rpm
set -eu
cd "$(dirname "$0")/.."
export FLASKPASTE_DEFAULT_CONFIG=/etc/flaskpaste/flaskpaste.toml
export FLASKPASTE_DEFAULT_DB=/var/lib/flaskpaste/pastes.db
export FLASKPASTE_DEFAULT_CLIENT=/usr/bin/fpaste
cargo build --release --locked
# fpaste's shell completions, installed in each shell's vendor directory.
mkdir -p target/completions
target/release/fpaste completions bash > target/completions/fpaste.bash
target/release/fpaste completions zsh > target/completions/_fpaste
target/release/fpaste completions fish > target/completions/fpaste.fish
cargo deb --no-build
cargo generate-rpm
ls target/debian/*.deb target/generate-rpm/*.rpm
