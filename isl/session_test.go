package isl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drd-linux/drd/bootenv"
)

// fakeSystem records what the prompt asked of the machine.
type fakeSystem struct {
	st    *bootenv.Status
	calls []string
	fail  error // returned by Set, Boot, Log, Shell and Reboot
}

func (f *fakeSystem) Scan(context.Context) (*bootenv.Status, error) {
	f.calls = append(f.calls, "scan")
	return f.st, nil
}
func (f *fakeSystem) Set(_ context.Context, image string) error {
	f.calls = append(f.calls, "set "+image)
	return f.fail
}
func (f *fakeSystem) Boot(_ context.Context, image string) error {
	f.calls = append(f.calls, "boot "+image)
	return f.fail
}
func (f *fakeSystem) Log(_ context.Context, image string) (string, error) {
	f.calls = append(f.calls, "log "+image)
	return "line 1\nline 2\n", f.fail
}
func (f *fakeSystem) Shell(context.Context) error {
	f.calls = append(f.calls, "shell")
	return f.fail
}
func (f *fakeSystem) Reboot(context.Context) error {
	f.calls = append(f.calls, "reboot")
	return f.fail
}

var day = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func twoImages() *bootenv.Status {
	orig := &bootenv.Image{Disk: "/dev/vda", Record: bootenv.Record{Name: "sysimage_000", State: bootenv.Booted, Created: day,
		History: []bootenv.Event{{Time: day.Add(time.Hour), Action: "boot", Result: "succeeded"}}}}
	clone := &bootenv.Image{Disk: "/dev/vdb", Record: bootenv.Record{Name: "sysimage_001", State: bootenv.Activated, Created: day.Add(2 * time.Hour),
		History: []bootenv.Event{{Time: day.Add(3 * time.Hour), Action: "activate", Result: "succeeded"}}}}
	return &bootenv.Status{Images: []*bootenv.Image{orig, clone}, Activated: "sysimage_001",
		Boot: &bootenv.BootState{Seq: 4, Next: "sysimage_001"}}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		fail      error
		wantCalls []string
		want      []string // substrings of the output, in order
	}{
		{"help", "help\n", nil, nil, []string{Prompt, "set IMAGE", "boot [IMAGE]", Prompt}},
		{"list", "list\n", nil, []string{"scan"}, []string{
			"IMAGE", "LAST GOOD BOOT",
			"sysimage_000    /dev/vda  last booted  2026-11-20 09:30  2026-11-20 10:30",
			"sysimage_001 *  /dev/vdb  activated    2026-11-20 11:30  -"}},
		{"status", "status\n", nil, []string{"scan"}, []string{
			"Booted from:  STAGEISL; the image booted last is sysimage_000 (2026-11-20 10:30)",
			"Boot target:  sysimage_001 (activated)", "Trial:        none"}},
		{"set", "set sysimage_000\n", nil, []string{"set sysimage_000"}, []string{"sysimage_000 is the boot target."}},
		{"set fails", "set sysimage_000\nstatus\n", errors.New("disk gone\nsecond line"), []string{"set sysimage_000", "scan"},
			[]string{"error: set sysimage_000: disk gone\n" + Prompt, "Boot target"}},
		{"boot the target", "boot\n", nil, []string{"scan", "boot sysimage_001"}, []string{"Booting sysimage_001"}},
		{"boot named", "boot sysimage_000\n", nil, []string{"boot sysimage_000"}, []string{"Booting sysimage_000"}},
		{"log", "log sysimage_001\n", nil, []string{"log sysimage_001"}, []string{"line 1\nline 2\n" + Prompt}},
		{"shell and reboot", "shell\nreboot\n", nil, []string{"shell", "reboot"}, nil},
		{"bad input then more", "bogus\nset\n\nlist\n", nil, []string{"scan"}, []string{
			"error: unknown command \"bogus\"; help lists the commands\n" + Prompt,
			"error: usage: set IMAGE\n" + Prompt, Prompt, "sysimage_001 *"}},
		{"exit stops", "exit\nlist\n", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSystem{st: twoImages(), fail: tt.fail}
			var out strings.Builder
			err := Run(context.Background(), f, strings.NewReader(tt.input), &out)
			if wantErr := map[bool]error{true: nil, false: io.EOF}[strings.Contains(tt.input, "exit")]; err != wantErr {
				t.Fatalf("Run: %v, want %v", err, wantErr)
			}
			if !slices.Equal(f.calls, tt.wantCalls) {
				t.Errorf("calls %q, want %q", f.calls, tt.wantCalls)
			}
			rest := out.String()
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order); all of it:\n%s", w, out.String())
				}
				rest = rest[i+len(w):]
			}
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(line, "error:") && strings.Count(line, "error:") != 1 {
					t.Errorf("error line %q", line)
				}
			}
		})
	}
}

// TestListShowsProblems: a file system the scan could not read is
// listed after the images, with what to do.
func TestListShowsProblems(t *testing.T) {
	bad := bootenv.Problem{Kind: bootenv.Unreadable, What: "/dev/vdc2", Device: "/dev/vdc2",
		Why: "mounting /dev/vdc2 read-only: structure needs cleaning", Action: "check the file system (fsck -n /dev/vdc2)"}
	for _, st := range []*bootenv.Status{twoImages(), {}} {
		st.Problems = []bootenv.Problem{bad}
		got := FormatList(st)
		if !strings.HasSuffix(got, "Problem with /dev/vdc2: mounting /dev/vdc2 read-only: structure needs cleaning\n  What to do: check the file system (fsck -n /dev/vdc2)\n") {
			t.Errorf("%d images: the list does not end with the problem:\n%s", len(st.Images), got)
		}
	}
}

func TestBootWithoutTarget(t *testing.T) {
	f := &fakeSystem{st: &bootenv.Status{}}
	var out strings.Builder
	Run(context.Background(), f, strings.NewReader("boot\n"), &out)
	if !strings.Contains(out.String(), "error: boot: no boot target is set; name an image (list shows them)\n") {
		t.Errorf("output:\n%s", out.String())
	}
	if slices.Contains(f.calls, "boot ") {
		t.Errorf("booted nothing: %q", f.calls)
	}
}

func TestFormatStatusTrial(t *testing.T) {
	st := twoImages()
	st.Boot = &bootenv.BootState{Seq: 5, Next: "sysimage_000", Trial: "sysimage_001", Tries: 1}
	got := FormatStatus(st)
	for _, w := range []string{"Boot target:  sysimage_001 (activated)", "Trial:        sysimage_001, 1 boot(s) left, then sysimage_000"} {
		if !strings.Contains(got, w) {
			t.Errorf("status lacks %q:\n%s", w, got)
		}
	}
	st.Boot.Tries = 0
	if got := FormatStatus(st); !strings.Contains(got, "Boot target:  sysimage_000 (last booted)") || !strings.Contains(got, "sysimage_001 used its tries") {
		t.Errorf("used-up trial:\n%s", got)
	}
}

func TestTail(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "l%d\n", i)
	}
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\n", 3, "a\nb\n"},
		{"a\nb", 1, "b\n"},
		{b.String(), 2, "l49\nl50\n"},
	}
	for _, tt := range tests {
		if got := Tail([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// list shows what the scan could not activate after the images it
// found: an incomplete volume group is one of the problems, not a
// failure, said as every problem is.
func TestListIncompleteVG(t *testing.T) {
	st := twoImages()
	st.Images = st.Images[1:]
	st.Problems = []bootenv.Problem{{Kind: bootenv.VGIncomplete, What: "volume group vg", Why: "physical volume X is missing", Action: "attach its disk"}}
	var out strings.Builder
	Run(context.Background(), &fakeSystem{st: st}, strings.NewReader("list\n"), &out)
	if !strings.Contains(out.String(), "sysimage_001 *  /dev/vdb") || !strings.Contains(out.String(), "(* the boot target)\nProblem with volume group vg: physical volume X is missing\n  What to do: attach its disk\n") {
		t.Errorf("output:\n%s", out.String())
	}
	st.Images = nil
	out.Reset()
	Run(context.Background(), &fakeSystem{st: st}, strings.NewReader("list\n"), &out)
	if !strings.Contains(out.String(), "No drd system image found on any disk.\nProblem with volume group vg") {
		t.Errorf("output with no image:\n%s", out.String())
	}
}
