package pkgdb

import (
	"bufio"
	"strings"
)

// ParseControl reads the fields of a Debian control paragraph.
// Continuation lines (starting with a blank) are joined to their field.
func ParseControl(data string) map[string]string {
	fields := map[string]string{}
	var last string
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), len(data)+1) // no line is longer than the whole
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				break // one paragraph
			}
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			fields[last] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		fields[last] = strings.TrimSpace(v)
	}
	return fields
}
