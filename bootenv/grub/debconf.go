package grub

import (
	"bufio"
	"bytes"
	"strings"
)

// An image's debconf database: drd reads and sets the disks its grub-pc
// installs GRUB on (a clone's name the clone's disk; drd runcmd gives the
// jail a placeholder for each).
const (
	DebconfConfig      = "var/cache/debconf/config.dat" // in the image's root
	GrubInstallDevices = "grub-pc/install_devices"
)

// eachDebconfLine calls fn with every line of a debconf database (stanzas
// of "Key: value" lines), its key and value, and whether it belongs to
// question name's stanza; fn returns false to stop.
func eachDebconfLine(data []byte, name string, fn func(line, key, value string, in bool) bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch {
		case line == "":
			in = false
		case k == "Name":
			in = v == name
		}
		if !fn(line, k, v, in) {
			return
		}
	}
}

// DebconfValue is the value of question name, "" if unset.
func DebconfValue(data []byte, name string) string {
	value := ""
	eachDebconfLine(data, name, func(_, k, v string, in bool) bool {
		if in && k == "Value" {
			value = v
			return false
		}
		return true
	})
	return value
}

// SetDebconfValue sets the value of question name where it has a value
// already. It returns the new text and whether it changed.
func SetDebconfValue(data []byte, name, value string) ([]byte, bool) {
	var out bytes.Buffer
	changed := false
	eachDebconfLine(data, name, func(line, k, v string, in bool) bool {
		if in && k == "Value" && v != "" && v != value {
			line, changed = "Value: "+value, true
		}
		out.WriteString(line)
		out.WriteByte('\n')
		return true
	})
	if !changed {
		return data, false
	}
	return out.Bytes(), true
}
