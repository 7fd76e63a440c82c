package isl

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		line    string
		want    Command
		wantErr string
	}{
		{"", Command{}, ""},
		{"   ", Command{}, ""},
		{"status", Command{Name: "status"}, ""},
		{"LIST", Command{Name: "list"}, ""},
		{"  set sysimage_000 ", Command{Name: "set", Arg: "sysimage_000"}, ""},
		{"SET sysimage_001", Command{Name: "set", Arg: "sysimage_001"}, ""},
		{"boot", Command{Name: "boot"}, ""},
		{"boot sysimage_001", Command{Name: "boot", Arg: "sysimage_001"}, ""},
		{"log sysimage_000", Command{Name: "log", Arg: "sysimage_000"}, ""},
		{"shell", Command{Name: "shell"}, ""},
		{"reboot", Command{Name: "reboot"}, ""},
		{"help", Command{Name: "help"}, ""},
		{"exit", Command{Name: "exit"}, ""},
		{"set", Command{}, "usage: set IMAGE"},
		{"set a b", Command{}, "usage: set IMAGE"},
		{"log", Command{}, "usage: log IMAGE"},
		{"boot a b", Command{}, "usage: boot [IMAGE]"},
		{"status now", Command{}, "usage: status"},
		{"set sysimage_1", Command{}, `set: "sysimage_1" is no image name (sysimage_NNN)`},
		{"set sysimage_00x", Command{}, `set: "sysimage_00x" is no image name (sysimage_NNN)`},
		{"boot /dev/sda", Command{}, `boot: "/dev/sda" is no image name (sysimage_NNN)`},
		{"frobnicate", Command{}, `unknown command "frobnicate"; help lists the commands`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.line)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Parse(%q) = %v, %v; want error %q", tt.line, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}
