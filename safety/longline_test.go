package safety

import (
	"strings"
	"testing"
)

// A line longer than a line buffer must not end the reading of a package
// early: what comes after it would go unjudged.
var hugeLine = "# " + strings.Repeat("x", 2<<20) + "\n"

func TestScanScriptReadsPastAHugeLine(t *testing.T) {
	fs := ScanScript("#!/bin/sh\n" + hugeLine + "flashrom -w bios.bin\n")
	if len(fs) != 1 || fs[0].Rule != "firmware-flash" || fs[0].Line != 3 {
		t.Errorf("ScanScript of flashrom after a 2 MiB line: %+v, want firmware-flash on line 3", fs)
	}
}

func TestParseControlReadsPastAHugeLine(t *testing.T) {
	f := ParseControl("Package: p\nDescription: " + hugeLine + "X-DRD-Safe: no\n")
	if f["X-DRD-Safe"] != "no" {
		t.Errorf("X-DRD-Safe after a 2 MiB field: %q, want no", f["X-DRD-Safe"])
	}
}
