// Package columns lays out rows of text in aligned columns, as drd prints
// its tables (drd status, the list of extended options).
package columns

import "strings"

// Format writes rows in columns two spaces apart, each line starting with
// indent; trailing blanks are cut.
func Format(rows [][]string, indent string) string {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		line := indent
		for i, c := range r {
			line += c
			if i < len(r)-1 {
				line += strings.Repeat(" ", width[i]-len(c)+2)
			}
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}
