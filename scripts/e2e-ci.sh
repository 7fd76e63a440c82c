#!/bin/sh
# Runs the VM end-to-end scenarios in CI: installs what the harness needs on
# a Debian or Ubuntu runner (as root), then make e2e. .ci/run calls it.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	qemu-system-x86 qemu-utils ovmf debootstrap e2fsprogs xfsprogs dosfstools \
	mtools gdisk lvm2 squashfs-tools dpkg-dev util-linux make \
	debian-archive-keyring
cd "$(dirname "$0")/.."
make e2e
