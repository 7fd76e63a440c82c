package clone

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/drd-linux/drd/bootenv"
)

// rename maps a device of the source image to its counterpart in the clone.
type rename struct {
	old, new bootenv.DevID
}

// rewriteDevices rewrites field (0-based) of every line of a table such as
// fstab (field 0) or crypttab (field 1) that names one of the renamed
// devices, in the notation the line used: UUID=, LABEL=, PARTUUID=,
// PARTLABEL=, /dev/disk/by-*/ or a device path. Comments, spacing and every
// other line stay byte for byte. It returns the new text and the number of
// lines changed.
func rewriteDevices(text []byte, field int, renames []rename) ([]byte, int, error) {
	var out bytes.Buffer
	changed := 0
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		start, end, ok := fieldSpan(line, field)
		if ok {
			spec := bootenv.ParseDevSpec(line[start:end])
			for _, r := range renames {
				if !spec.Matches(r.old) {
					continue
				}
				v := r.new.Value(spec.Kind)
				if v == "" {
					return nil, 0, fmt.Errorf("line %d names %s by %s, but the clone's device has no %s", n, line[start:end], spec.Kind, spec.Kind)
				}
				spec.Value = v
				line = line[:start] + spec.String() + line[end:]
				changed++
				break
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	if len(text) > 0 && text[len(text)-1] != '\n' {
		out.Truncate(out.Len() - 1)
	}
	return out.Bytes(), changed, nil
}

// fieldSpan finds the byte range of field i of a whitespace-separated line,
// ignoring comment lines.
func fieldSpan(line string, i int) (int, int, bool) {
	if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
		return 0, 0, false
	}
	pos := 0
	for k := 0; ; k++ {
		for pos < len(line) && (line[pos] == ' ' || line[pos] == '\t') {
			pos++
		}
		if pos == len(line) || line[pos] == '#' {
			return 0, 0, false
		}
		start := pos
		for pos < len(line) && line[pos] != ' ' && line[pos] != '\t' {
			pos++
		}
		if k == i {
			return start, pos, true
		}
	}
}
