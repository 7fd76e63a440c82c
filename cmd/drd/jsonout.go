package main

import (
	"encoding/json"
	"io"
)

// writeJSON prints v as one indented JSON document: what --json prints
// (drd status, diff, sync, verify).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
