package execrun

import (
	"context"
	"strings"
	"testing"
)

func TestRealWrapsFailure(t *testing.T) {
	_, err := Real{}.Run(context.Background(), "sh", "-c", "echo oops >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), `running "sh -c echo oops >&2; exit 3"`) || !strings.Contains(err.Error(), "oops") {
		t.Errorf("got %v, want the command line and its stderr", err)
	}
	out, err := Real{}.Run(context.Background(), "sh", "-c", "echo $LC_ALL")
	if err != nil || strings.TrimSpace(string(out)) != "C" {
		t.Errorf("LC_ALL = %q, %v; want C", out, err)
	}
}

func TestFakeRefusesUnexpected(t *testing.T) {
	f := &Fake{Out: map[string]string{"true": ""}}
	if _, err := f.Run(context.Background(), "true"); err != nil {
		t.Error(err)
	}
	if _, err := f.Run(context.Background(), "rm", "-rf", "/"); err == nil {
		t.Error("Fake ran an unexpected command")
	}
	if len(f.Ran) != 2 {
		t.Errorf("Ran = %q", f.Ran)
	}
}
