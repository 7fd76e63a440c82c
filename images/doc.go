// Package images deals with disks and image files: block devices as the
// kernel shows them in sysfs, file-system and partition-table signatures
// (probed in pure Go, as blkid prints them), loop devices, GPT layouts and
// partitions made visible with BLKPG, the FAT32 EFI system partition, and
// the checks that keep drd from overwriting a disk in use.
//
// Parsing is pure and works on bytes or on a sysfs/procfs tree given by
// its root directory, so tests can use fixtures; the few functions that
// issue ioctls or write devices are thin and are tested as root on loop
// devices backed by image files.
package images
