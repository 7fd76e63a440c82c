// Package runcmd is the runcmd environment: it runs a command (apt-get,
// dpkg, update-initramfs...) against an inactive system image in a jail
// that cannot touch the booted system image or its running state.
//
// The jail is planned as a value (plan.go: which mounts, which
// capabilities, which environment) and carried out by a thin executor:
// drd starts itself again (/proc/self/exe __jail) in new mount, PID, IPC,
// UTS and cgroup namespaces and in a cgroup of its own (jail.go); that
// process, PID 1 of the jail, builds the private mount tree, pivots into
// the image, starts the command with the dangerous capabilities dropped
// from its bounding set, reaps it, and names and kills whatever it left
// running (init.go). Run (run.go) puts it together with the image's
// record: mounted, state modifying, package changes in its history.
package runcmd
