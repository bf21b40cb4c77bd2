#!/bin/sh
# Builds the release binaries with the packaged default paths compiled in, and fpaste's
# shell completions (target/completions/). The packages and the Containerfile both build
# this way.
set -eu
cd "$(dirname "$0")/.."
export FLASKPASTE_DEFAULT_CONFIG=/etc/flaskpaste/flaskpaste.toml
export FLASKPASTE_DEFAULT_DB=/var/lib/flaskpaste/pastes.db
export FLASKPASTE_DEFAULT_CLIENT=/usr/bin/fpaste
cargo build --release --locked
mkdir -p target/completions
target/release/fpaste completions bash > target/completions/fpaste.bash
target/release/fpaste completions zsh > target/completions/_fpaste
target/release/fpaste completions fish > target/completions/fpaste.fish
