package safety

import (
	"strings"
	"testing"
	"unicode"
)

// Fuzz targets of what safety reads from packages and the administrator.

// FuzzParseUnsafeList: every entry read has a name without blanks, '#' or
// '=', and Judge takes the list.
func FuzzParseUnsafeList(f *testing.F) {
	f.Add("# comment\nlibc6 # breaks everything\nopenssl=3.0.11-1 CVE-2023-1234\n\n")
	f.Add("=1.0 no name\n")
	f.Add("a#b reason\n")
	f.Fuzz(func(t *testing.T, data string) {
		l, err := ParseUnsafeList(data)
		if err != nil {
			return
		}
		for name := range l {
			if name == "" || strings.ContainsAny(name, "#=") || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
				t.Errorf("package name %q", name)
			}
			Judge(&Package{Name: name, Fields: map[string]string{}, Scripts: map[string]string{}}, l)
		}
	})
}

// FuzzParseRPMScripts: every scriptlet read is named as rpm names them
// and ends its text with a line break.
func FuzzParseRPMScripts(f *testing.F) {
	f.Add("preinstall scriptlet (using /bin/sh):\necho hi\npostinstall program: /sbin/ldconfig\npostuninstall scriptlet (using <lua>):\nprint(1)\n")
	f.Add("verify scriptlet:\n\n")
	f.Add("text before any scriptlet\n")
	f.Fuzz(func(t *testing.T, out string) {
		for name, text := range ParseRPMScripts(out) {
			if !rpmScriptlet().MatchString(name + " scriptlet:") {
				t.Errorf("scriptlet name %q", name)
			}
			if !strings.HasSuffix(text, "\n") {
				t.Errorf("scriptlet %s: %q", name, text)
			}
		}
	})
}

// FuzzScanScript: a maintainer script is scanned whatever it holds, and
// every finding names a rule and a line of the script.
func FuzzScanScript(f *testing.F) {
	f.Add("#!/bin/sh\nset -e\nupdate-grub\nrm -rf /boot/old \\\n  /boot/x\n# rm -rf /\n")
	f.Add("if true; then grub-install /dev/sda; fi; echo 'a;b' | tee /etc/x\n")
	f.Add("\\")
	f.Fuzz(func(t *testing.T, script string) {
		lines := strings.Count(script, "\n") + 1
		for _, fd := range ScanScript(script) {
			if fd.Rule == "" || fd.Line < 1 || fd.Line > lines {
				t.Errorf("finding %+v in a script of %d lines", fd, lines)
			}
		}
	})
}
