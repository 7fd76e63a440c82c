// Package grub is GRUB's side of booting, as values and one tool: the
// environment block (Env, what load_env reads and save_env writes), the
// debconf answers grub-pc installs by (DebconfValue, SetDebconfValue), and
// the BIOS install (InstallGrubBIOS, through a Runner). It knows nothing
// of drd's images: bootenv decides what goes into a block and where.
package grub
