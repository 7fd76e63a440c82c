package mountinfo

import "testing"

func TestParse(t *testing.T) {
	ms, err := Parse([]byte(`22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
36 22 0:44 /@data /mnt/my\040data rw shared:7 master:2 - btrfs /dev/loop0p2 rw
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Mount{ID: 36, Parent: 22, Major: 0, Minor: 44, FSRoot: "/@data", MountPoint: "/mnt/my data",
		Options: "rw", FSType: "btrfs", Source: "/dev/loop0p2"}
	if ms[1] != want {
		t.Errorf("got %+v, want %+v", ms[1], want)
	}
	for _, bad := range []string{"1 2 3\n", "22 1 x:0 / / rw - ext4 /dev/x rw\n", "22 1 8:0 / / rw shared:1 ext4 /dev/x rw\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{`a\040b`: "a b", `end\040`: "end ", `no\escape`: `no\escape`, `\011tab`: "\ttab"} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
