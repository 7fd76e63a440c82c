package runcmd

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// newSessionKeyring gives the calling thread (the one that forks the
// command) a new, empty, anonymous session key ring in place of drd's
// own (the operator's login session's, where pam_keyinit made one): the
// command inherits it, and sees none of the booted system's keys through
// @s. The seccomp filter refuses keyctl, add_key and request_key anyway:
// root's user key ring (@u) is shared across every namespace of the uid.
func newSessionKeyring() error {
	// A NULL name: a new anonymous key ring, which no other process can
	// join by name (unix.KeyctlJoinSessionKeyring passes a string).
	if _, _, e := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0); e != 0 {
		return fmt.Errorf("giving the command a session key ring of its own: %w", e)
	}
	return nil
}
