package console

import (
	"testing"
	"time"

	"github.com/drd-linux/drd/internal/report"
)

func TestFormatProgress(t *testing.T) {
	tests := []struct {
		p    report.Progress
		want string
	}{
		{report.Progress{}, "progress: 0B, 0 entries"},
		{report.Progress{What: "copying /", Bytes: 3 << 29, Entries: 12034},
			"copying /: 1.5G, 12034 entries"},
		{report.Progress{What: "copying /", Bytes: 1 << 30, Total: 5 << 30, Entries: 12034, TotalEntries: 50000, Elapsed: 10 * time.Second},
			"copying /: 1G of 5G (20%), 12034 of 50000 entries, 102.4M/s, 0:40 left"},
		{report.Progress{What: "second pass /var", Bytes: 1 << 30, Total: 1000 << 30, Elapsed: time.Second},
			"second pass /var: 1G of 1000G (0%), 0 entries, 1G/s, 16:39 left"},
		{report.Progress{What: "slow", Bytes: 1 << 20, Total: 10 << 30, Elapsed: time.Second},
			"slow: 1M of 10G (0%), 0 entries, 1M/s, 2:50:39 left"},
		{report.Progress{What: "done", Bytes: 6 << 30, Total: 5 << 30, Elapsed: time.Second},
			"done: 6G of 5G (100%), 0 entries, 6G/s"},
	}
	for _, tt := range tests {
		if got := FormatProgress(tt.p); got != tt.want {
			t.Errorf("FormatProgress(%+v) =\n%q\nwant\n%q", tt.p, got, tt.want)
		}
	}
}
