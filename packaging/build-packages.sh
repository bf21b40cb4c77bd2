#!/bin/sh
# Builds the Debian and RPM packages from the release build of build-release.sh (packaged
# default paths compiled in). Needs: cargo install cargo-deb cargo-generate-rpm
set -eu
cd "$(dirname "$0")/.."
packaging/build-release.sh
cargo deb --no-build
cargo generate-rpm
ls target/debian/*.deb target/generate-rpm/*.rpm
