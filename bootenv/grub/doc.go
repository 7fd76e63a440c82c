// Package grub is GRUB's side of booting, as values and one tool: the
// environment block (Env, what load_env reads and save_env writes), drd's
// menu snippet drd.cfg (Menu, Encode) and the grub.d hook that sources it,
// the debconf answers grub-pc installs by (DebconfValue, SetDebconfValue),
// and the BIOS install (InstallGrubBIOS, through a Runner). It knows
// nothing of drd's images on disk: bootenv decides what goes into a block
// and a menu, and where they are written.
package grub
