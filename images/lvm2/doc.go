// Package lvm2 reads LVM2 volume groups from their physical volumes and
// makes their logical volumes visible with the kernel's device-mapper,
// without LVM's tools: what STAGEISL needs to find images on LVM
// (docs/isl.md). The PV label and metadata area reader and the text
// metadata parser are pure (they read an io.ReaderAt or bytes); Tables
// turns a volume group into device-mapper tables; only Mapper (dm.go)
// makes ioctls. Linear and striped logical volumes are supported: the
// layouts an installer or drd clone gives a root; others (thin, RAID,
// snapshots, cache) are reported as not activated.
package lvm2
