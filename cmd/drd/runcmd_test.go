package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/drd-linux/drd/internal/report"
	"github.com/drd-linux/drd/runcmd"
)

// TestRuncmdCommandLine: drd's options end at the command; the command's
// own options (-y, -q) reach it untouched; -x options map to runcmd.Options.
func TestRuncmdCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		argv     []string
		stderr   string
		validate func(t *testing.T, o runcmd.Options)
	}{
		{args: []string{"runcmd", "apt-get", "install", "-y", "-q", "nginx-light"}, argv: []string{"apt-get", "install", "-y", "-q", "nginx-light"}},
		{args: []string{"runcmd", "-v", "-x", "image=sysimage_002", "-x", "depot=/srv/repo", "-x", "depot=/srv/more", "-x", "network=false", "dpkg", "-i", "/srv/repo/a.deb"},
			argv: []string{"dpkg", "-i", "/srv/repo/a.deb"},
			validate: func(t *testing.T, o runcmd.Options) {
				if o.Image != "sysimage_002" || !slices.Equal(o.Depots, []string{"/srv/repo", "/srv/more"}) || !o.NoNetwork || o.AllowUnsafe || o.PrecheckOnly || o.ReportJSON {
					t.Errorf("options %+v", o)
				}
			}},
		{args: []string{"runcmd", "-x", "allow_unsafe=true", "-x", "precheck_only", "-x", "report=json", "-x", "name=CHG0042", "-x", "note=nginx for the web tier", "apt-get", "install", "-y", "nginx-light"},
			argv: []string{"apt-get", "install", "-y", "nginx-light"},
			validate: func(t *testing.T, o runcmd.Options) {
				if !o.AllowUnsafe || !o.PrecheckOnly || !o.ReportJSON || o.Name != "CHG0042" || o.Note != "nginx for the web tier" || o.User == "" || o.Now == nil || o.NoNetwork {
					t.Errorf("options %+v", o)
				}
			}},
		{args: []string{"runcmd", "-x", "network=host", "dpkg", "-l"}, argv: []string{"dpkg", "-l"},
			validate: func(t *testing.T, o runcmd.Options) {
				if !o.HostNetwork || o.NoNetwork {
					t.Errorf("network=host: options %+v", o)
				}
			}},
		{args: []string{"runcmd", "dpkg", "-l"}, argv: []string{"dpkg", "-l"},
			validate: func(t *testing.T, o runcmd.Options) {
				if o.HostNetwork || o.NoNetwork {
					t.Errorf("the default network (slirp4netns): options %+v", o)
				}
			}},
		{args: []string{"runcmd", "-x", "bind=/srv/repo", "true"}, code: 1, stderr: "bind"},
		{args: []string{"runcmd", "-x", "force_unsafe=true", "true"}, code: 1, stderr: "force_unsafe"},
		{args: []string{"runcmd", "-x", "report=xml", "true"}, code: 1, stderr: "want text or json"},
		{args: []string{"runcmd", "-x", "depot=srv/repo", "true"}, code: 1, stderr: "absolute path"},
		{args: []string{"runcmd"}, code: 1, stderr: "drd runcmd: no command"},
		{args: []string{"runcmd", "-x", "network=maybe", "true"}, code: 1, stderr: "network"},
	} {
		var got []runcmd.Options
		f := &fake{}
		sys := f.system()
		sys.runcmd = func(ctx context.Context, o runcmd.Options, r report.Reporter) error {
			got = append(got, o)
			r.Step("ran")
			return nil
		}
		var out, errb strings.Builder
		code := run(context.Background(), append([]string{"drd", "--root", t.TempDir()}, tc.args...), &out, &errb, sys)
		// a success shows the step runcmd reported
		if code != tc.code || !strings.Contains(errb.String(), tc.stderr) || tc.code == 0 && !strings.Contains(errb.String(), "* ran\n") {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.stderr)
		}
		if tc.argv == nil {
			if len(got) != 0 {
				t.Errorf("%q ran %+v", tc.args, got)
			}
			continue
		}
		if len(got) != 1 || !slices.Equal(got[0].Argv, tc.argv) {
			t.Errorf("%q: runcmd got %+v, want argv %q", tc.args, got, tc.argv)
			continue
		}
		if tc.validate != nil {
			tc.validate(t, got[0])
		}
	}
}
