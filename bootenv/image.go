// Package bootenv treats system images as objects: their identity and
// history (image.json), discovery by scanning block devices, their states,
// and mounting an inactive image.
package bootenv

import (
	"time"

	"github.com/drd-linux/drd/pkgdb"
)

// State of a system image, after AIX emgr's explicit states.
type State string

// The states of DESIGN.md.
const (
	Cloning   State = "cloning"   // a clone is being written
	Complete  State = "complete"  // a clone finished and is consistent
	Modifying State = "modifying" // runcmd is changing it
	Activated State = "activated" // it is the next boot target
	Trial     State = "trial"     // booted on trial
	Booted    State = "booted"    // the running image
	Good      State = "good"      // passed its trial boot
	Broken    State = "broken"    // a clone or runcmd was interrupted
	Bad       State = "bad"       // failed its trial boot
	Retired   State = "retired"   // another image was committed as the base: its disk may be reused
)

// Record is an image's identity and history, kept in
// /var/opt/drd/image.json inside the image itself.
type Record struct {
	Name       string    `json:"name"`        // sysimage_000, sysimage_001
	ID         string    `json:"id"`          // random UUID, never reused
	Created    time.Time `json:"created"`     // when the image was made
	Origin     string    `json:"origin"`      // ID of the image it was cloned from ("" for an original)
	System     string    `json:"system"`      // ID of the first original: shared by it and all its clones
	SourceDisk string    `json:"source_disk"` // disk it was cloned from
	Target     string    `json:"target"`      // disk or image file it lives on
	State      State     `json:"state"`
	Reason     string    `json:"reason,omitempty"`           // why the state is bad (or broken)
	LastSync   time.Time `json:"last_sync,omitzero"`         // end of the last completed clone
	OriginRoot string    `json:"origin_root_uuid,omitempty"` // UUID of the origin's root file system
	// FileSystems are the image's critical file systems, parents first.
	FileSystems []FileSystem `json:"file_systems"`
	History     []Event      `json:"history"`
}

// Event is one line of an image's history.
type Event struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"` // clone, mount, runcmd, activate, ...
	User   string    `json:"user"`
	Result string    `json:"result"` // started, succeeded, failed, interrupted
	Detail string    `json:"detail,omitempty"`
	// Image is the id of the image a clone event of the origin made.
	Image string `json:"image,omitempty"`
	// Changes are the packages a runcmd installed, removed or changed.
	Changes []PackageChange `json:"changes,omitempty"`
}

// PackageChange is one package changed in an image.
type PackageChange = pkgdb.Change

// FileSystem is one file system of an image.
type FileSystem struct {
	MountPoint string `json:"mount_point"` // as in the image's fstab: /, /boot, /boot/efi
	Device     string `json:"device"`      // /dev/loop3p3
	Type       string `json:"type"`        // ext4, xfs, vfat
	UUID       string `json:"uuid"`
	Label      string `json:"label,omitempty"`
	Size       int64  `json:"size"`           // bytes of the partition or volume
	Used       int64  `json:"used,omitempty"` // bytes in use, when known
	VG         string `json:"vg,omitempty"`   // LVM volume group of a logical volume
	LV         string `json:"lv,omitempty"`   // the logical volume's name in VG
}

// Image is a system image found on this machine.
type Image struct {
	Record
	Disk      string `json:"disk"`                 // whole disk it lives on: /dev/vdb
	ImageFile string `json:"image_file,omitempty"` // backing file when Disk is a loop device
	Booted    bool   `json:"booted"`
	// Missing says why the image is not there now (Status.Missing only).
	Missing string `json:"missing,omitempty"`
}
