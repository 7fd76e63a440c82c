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
	// Warnings are what a rescue scan could not read or activate (an
	// incomplete volume group, an LV it cannot make): images elsewhere
	// are still listed.
	Warnings []string `json:"warnings,omitempty"`
}

// RecoveryOn is STAGEISL as installed in one image's /boot.
type RecoveryOn struct {
	Image string `json:"image"`
	Recovery
}
