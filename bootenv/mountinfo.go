package bootenv

import "github.com/drd-linux/drd/internal/mountinfo"

// MountInfo is one line of the kernel's mount table.
type MountInfo = mountinfo.Mount

// The mount table, as package mountinfo reads it.
var (
	ParseMountinfo = mountinfo.Parse
	ReadMountinfo  = mountinfo.Read
	MountsUnder    = mountinfo.Under
)
