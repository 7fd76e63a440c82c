// Package safety says what is DRD-safe: which commands drd runcmd runs in
// the runcmd environment, and whether a package may be installed there,
// from its X-DRD-Safe control field, the administrator's unsafe list and
// a reading of its maintainer scripts (after HP's DRD-safe white paper).
//
// Everything here is pure: it judges commands, control files and scripts
// given as values. Reading a .deb is one small function over a Runner.
package safety
