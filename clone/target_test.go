package clone

import (
	"strings"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// The refusal of a partition names the disk sysfs says it is on: cutting
// digits and "p" off the name made /dev/loo of /dev/loop0p3 and /dev/nvme0n
// of /dev/nvme0n1p2.
func TestCheckTargetPartitionNamesItsDisk(t *testing.T) {
	for _, tt := range []struct{ part, disk string }{
		{"/dev/loop0p3", "/dev/loop0"},
		{"/dev/nvme0n1p2", "/dev/nvme0n1"},
		{"/dev/mmcblk0p1", "/dev/mmcblk0"},
		{"/dev/vdb1", "/dev/vdb"},
	} {
		f := targetFacts{path: tt.part, isBlock: true, exists: true, partition: true, disk: tt.part, wholeDisk: tt.disk, size: 1 << 30}
		err := checkTarget(f, &bootenv.Layout{}, 1<<20, false)
		want := "target " + tt.part + " is a partition of " + tt.disk + "; drd clone needs a whole disk (e.g. " + tt.disk + ")"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", tt.part, err, want)
		}
	}
}

// A target with data is refused in words that fit any signature: "a %s"
// gave "carries a ext4 signature".
func TestCheckTargetNamesTheSignature(t *testing.T) {
	for _, sig := range []string{"ext4 signature", "xfs signature", "gpt partition table"} {
		f := targetFacts{path: "/srv/busy.img", exists: true, size: 1 << 30, signature: sig}
		err := checkTarget(f, &bootenv.Layout{}, 1<<20, false)
		want := "target /srv/busy.img carries data (found: " + sig + "): to overwrite it, run again with -x overwrite=true"
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
		if err := checkTarget(f, &bootenv.Layout{}, 1<<20, true); err != nil {
			t.Errorf("with overwrite: %v", err)
		}
	}
}
