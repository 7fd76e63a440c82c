package runcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHookInfoFD: the descriptor of APT_HOOK_INFO_FD, standard input
// when unset; anything but a plain number is refused.
func TestHookInfoFD(t *testing.T) {
	for env, want := range map[string]int{"": 0, "0": 0, "20": 20, "3": 3} {
		if fd, err := HookInfoFD(env); err != nil || fd != want {
			t.Errorf("HookInfoFD(%q) = %d, %v, want %d", env, fd, err, want)
		}
	}
	for _, bad := range []string{"-1", "x", "020", "+3", " 3", "3 ", "99999999999999999999", "1048577"} {
		if _, err := HookInfoFD(bad); err == nil || !strings.Contains(err.Error(), "APT_HOOK_INFO_FD") {
			t.Errorf("HookInfoFD(%q) = %v, want an error naming APT_HOOK_INFO_FD", bad, err)
		}
	}
	if _, err := hookInput("x").Read(make([]byte, 1)); err == nil {
		t.Error("the input of a bad APT_HOOK_INFO_FD reads")
	}
}

// FuzzHookInfoFD: a descriptor taken from APT_HOOK_INFO_FD is a plain
// number, written as apt writes it.
func FuzzHookInfoFD(f *testing.F) {
	for _, s := range []string{"", "0", "20", "-1", "0x10", "020"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, env string) {
		fd, err := HookInfoFD(env)
		if err != nil {
			return
		}
		if want := strconv.Itoa(fd); fd < 0 || (env != want && !(env == "" && fd == 0)) {
			t.Errorf("HookInfoFD(%q) = %d", env, fd)
		}
	})
}

// TestInspectFailsClosed: a hook that cannot read or judge its input
// marks its stop as a failure, which a precheck reports as an error; a
// dry run that judged everything stops apt without it.
func TestInspectFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		failed      bool
	}{
		{"no input", "", true},
		{"another protocol", "VERSION 2\n\n", true},
		{"unreadable package", "VERSION 3\n\nx - - none < 1 all none /nonexistent/x.deb\n", true},
		{"judged", "VERSION 3\n\nx - - none < 1 all none **CONFIGURE**\n", false},
	} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "out"), 0o755)
		cfg, _ := json.Marshal(inspectConfig{DryRun: true})
		os.WriteFile(filepath.Join(dir, "inspect.json"), cfg, 0o644)
		var stderr strings.Builder
		if code := inspectMain(strings.NewReader(tc.input), &stderr, dir, false); code == 0 {
			t.Errorf("%s: the dry run's hook let apt go on", tc.name)
		}
		if _, err := os.Stat(filepath.Join(dir, "out", stoppedFile)); err != nil {
			t.Errorf("%s: no stop mark: %v", tc.name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "out", failedFile)); (err == nil) != tc.failed {
			t.Errorf("%s: failure mark %v, want %v (%s)", tc.name, err == nil, tc.failed, stderr.String())
		}
	}
}
