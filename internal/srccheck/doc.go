// Package srccheck holds checks over drd's own source tree that no single
// package can make of itself, such as every package having a doc comment.
// It has no code of its own: the checks are its tests.
package srccheck
