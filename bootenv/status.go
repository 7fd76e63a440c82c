package bootenv

// Status is what drd status shows.
type Status struct {
	Booted    *Image   `json:"booted"`    // the image whose root is --root
	Activated string   `json:"activated"` // name of the next boot target
	Images    []*Image `json:"images"`    // every image found, booted first
	// Missing are the clones the booted image's history made that no disk
	// or image file shows now (gone, wiped, not attached); drd forget
	// removes their records.
	Missing []*Image `json:"missing,omitempty"`
	// Boot is the freshest of drd's environment blocks: what GRUB will
	// do; nil when no image has one (never activated, or not bootable by drd).
	Boot *BootState `json:"boot,omitempty"`
	// ISL lists the images whose /boot has STAGEISL (drd isl install),
	// in name order.
	ISL []RecoveryOn `json:"isl,omitempty"`
	// Problems are what the scan could not do, each for the
	// administrator to look at: a device labelled as one of drd's images
	// whose image cannot be read, a file system it could not unmount;
	// in a rescue scan (STAGEISL) also an LVM physical volume it could
	// not read, an incomplete volume group, a logical volume it could not
	// make. The images above are every one it could read.
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one thing the scan could not do: on what, why, and what to
// do about it.
type Problem struct {
	Kind   ProblemKind `json:"kind"`
	What   string      `json:"what"`             // for a person: "/dev/sdc3 (sysimage_002 by its partition name)"
	Device string      `json:"device,omitempty"` // the device, for Unreadable and LVMUnreadable
	Disk   string      `json:"disk,omitempty"`   // the whole disk it is on
	File   string      `json:"image_file,omitempty"`
	Image  string      `json:"image,omitempty"` // the image its partition name says, if it says one
	Why    string      `json:"why"`
	Action string      `json:"action"`
}

// ProblemKind says what kind of thing a Problem is.
type ProblemKind string

const (
	// Unreadable is a device whose GPT partition name or label says it
	// is one of drd's images but whose image could not be read.
	Unreadable ProblemKind = "unreadable"
	// StillMounted is a file system the scan mounted to read and could
	// not unmount.
	StillMounted ProblemKind = "still-mounted"
	// LVMUnreadable is an LVM physical volume whose label or metadata a
	// rescue scan could not read.
	LVMUnreadable ProblemKind = "lvm-unreadable"
	// VGIncomplete is a volume group a physical volume of which a rescue
	// scan did not find: its logical volumes on the others are made.
	VGIncomplete ProblemKind = "vg-incomplete"
	// LVNotActivated is a logical volume a rescue scan could not make (a
	// physical volume missing, a segment type it does not make, the
	// device-mapper refused it).
	LVNotActivated ProblemKind = "lv-not-activated"
)

// RecoveryOn is STAGEISL as installed in one image's /boot.
type RecoveryOn struct {
	Image string `json:"image"`
	Recovery
}
