// Package e2e is drd's VM end-to-end harness: it makes real Debian systems
// with debootstrap, lays them out on raw disk images (BIOS or UEFI, plain
// partitions or LVM), boots them under QEMU and drives scenarios across
// reboots through a small agent in the guest.
//
// Scenarios are go tests in this package. They run only when DRD_E2E=1 and
// the user is root; otherwise they skip at once, so go test ./... stays fast.
// See docs/e2e.md for how it works, how to run one scenario and where the
// logs go.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Environment variables that steer the harness.
const (
	EnvEnable = "DRD_E2E"       // "1" runs the VM scenarios
	EnvCache  = "DRD_E2E_CACHE" // cache of base and layout images (default /var/tmp/drd-e2e)
	EnvLogs   = "DRD_E2E_LOGS"  // where VM logs go (default <cache>/logs)
	EnvKeep   = "DRD_E2E_KEEP"  // "1" keeps the logs of passing scenarios too
	EnvCPUs   = "DRD_E2E_CPUS"  // virtual CPUs of each VM (default 1: see cpus)
	EnvDRD    = "DRD_E2E_DRD"   // a drd binary to package and install instead of building ./cmd/drd
)

// CacheDir is where built images are kept between runs.
func CacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	return "/var/tmp/drd-e2e"
}

// LogRoot is the directory under which each VM gets a directory of logs.
func LogRoot() string {
	if d := os.Getenv(EnvLogs); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "logs")
}

// hostTools are the programs the harness runs on the host.
var hostTools = []string{
	"qemu-system-x86_64", "qemu-img", "debootstrap", "mkfs.ext4", "mksquashfs",
	"losetup", "partx", "blkid", "e2fsck", "fsck.vfat", "dpkg-deb", "go",
}

// Require skips t unless VM scenarios are enabled, and fails it when the
// host lacks what they need.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvEnable) != "1" {
		t.Skipf("VM scenario: set %s=1 to run it (make e2e)", EnvEnable)
	}
	if os.Geteuid() != 0 {
		t.Skip("VM scenario: needs root (debootstrap, loop devices)")
	}
	var missing []string
	for _, p := range hostTools {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("VM scenario: missing host programs %v; install qemu-system-x86 qemu-utils ovmf debootstrap e2fsprogs dosfstools squashfs-tools dpkg-dev lvm2 (see .ci/run)", missing)
	}
}
