package options

import (
	"errors"
	"fmt"
	"strings"
)

// entry is one logical line of an option file: "name=value" and the number
// of the physical line it starts on.
type entry struct {
	line int
	text string
}

// splitFile cuts an option file into entries. The rules:
//   - a line whose first non-blank character is '#' is a comment, and blank
//     lines are ignored;
//   - a line ending in '\' continues on the next line: the '\' and the line
//     break are removed, nothing else;
//   - in an entry, '#' after a blank starts a trailing comment;
//   - every other line must be name=value (or a bool's bare name), which
//     Values.assign checks.
func splitFile(file []byte) ([]entry, error) {
	var out []entry
	lines := strings.Split(strings.ReplaceAll(string(file), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		text := lines[i]
		if t := strings.TrimSpace(text); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		for strings.HasSuffix(text, `\`) {
			text = strings.TrimSuffix(text, `\`)
			if i+1 >= len(lines) || (i+1 == len(lines)-1 && lines[i+1] == "") {
				return nil, &FileError{Line: i + 1, Err: errors.New(`"\" continues past the end of the file`)}
			}
			i++
			text += lines[i]
		}
		text = stripComment(text)
		if !strings.Contains(text, "=") && strings.ContainsAny(strings.TrimSpace(text), " \t") {
			return nil, &FileError{Line: start, Err: fmt.Errorf("%q: want name=value", strings.TrimSpace(text))}
		}
		out = append(out, entry{line: start, text: strings.TrimSpace(text)})
	}
	return out, nil
}

// stripComment removes a trailing comment: '#' at the start or after a blank.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}
