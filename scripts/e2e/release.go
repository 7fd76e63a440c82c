package e2e

import "slices"

// Release is a Debian release the harness builds systems of: each has its
// own base system and its own images of every layout (Layout.On).
type Release struct {
	Version string // "12", "13"
	Suite   string // debootstrap's suite: bookworm, trixie
	// Suffix ends the names of the release's layouts ("bios-13"): the
	// layouts of Debian 12 came first and keep their bare names, and with
	// them their cache keys.
	Suffix string
}

// The releases: Debian 12 (oldstable) and Debian 13 (stable).
var (
	Bookworm = Release{Version: "12", Suite: "bookworm"}
	Trixie   = Release{Version: "13", Suite: "trixie", Suffix: "-13"}
)

// Releases are the releases every scenario that loops over layouts runs on.
var Releases = []Release{Bookworm, Trixie}

// packages is what debootstrap installs on top of minbase for r: the
// same names on both releases.
func (r Release) packages() []string { return slices.Clone(basePackages) }

func (r Release) String() string { return "Debian " + r.Version + " (" + r.Suite + ")" }

// On is l on release r: the same disks, r's base system, named with r's
// suffix.
func (l Layout) On(r Release) Layout {
	l.Name = l.Name[:len(l.Name)-len(l.Release.Suffix)] + r.Suffix
	l.Release = r
	return l
}

// onReleases lists each of ls on every release, Debian 12's first.
func onReleases(ls ...Layout) []Layout {
	var out []Layout
	for _, r := range Releases {
		for _, l := range ls {
			out = append(out, l.On(r))
		}
	}
	return out
}
