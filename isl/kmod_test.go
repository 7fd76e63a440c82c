package isl

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestInitFlags(t *testing.T) {
	for name, want := range map[string]int{
		"kernel/drivers/md/dm-mod.ko":            0,                                // Debian 12
		"kernel/drivers/md/dm-mod.ko.xz":         unix.MODULE_INIT_COMPRESSED_FILE, // Debian 13
		"kernel/drivers/block/virtio_blk.ko.zst": unix.MODULE_INIT_COMPRESSED_FILE,
		"kernel/fs/xfs/xfs.ko.gz":                unix.MODULE_INIT_COMPRESSED_FILE,
		"kernel/fs/odd.kox":                      0,
	} {
		if got := initFlags(name); got != want {
			t.Errorf("initFlags(%q) = %d, want %d", name, got, want)
		}
	}
}
