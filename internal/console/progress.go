package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/internal/report"
)

// FormatProgress writes p as one line:
//
//	copying /: 1.2G of 5G (24%), 12034 of 50000 entries, 85.3M/s, 0:45 left
//
// leaving out what is unknown (totals, rate, time left).
func FormatProgress(p report.Progress) string {
	var parts []string
	bytes := options.FormatSize(p.Bytes)
	if p.Total > 0 {
		bytes += fmt.Sprintf(" of %s (%d%%)", options.FormatSize(p.Total), min(100, p.Bytes*100/p.Total))
	}
	parts = append(parts, bytes)
	entries := fmt.Sprintf("%d entries", p.Entries)
	if p.TotalEntries > 0 {
		entries = fmt.Sprintf("%d of %d entries", p.Entries, p.TotalEntries)
	}
	parts = append(parts, entries)
	if secs := p.Elapsed.Seconds(); secs > 0 && p.Bytes > 0 {
		rate := float64(p.Bytes) / secs
		parts = append(parts, options.FormatSize(int64(rate))+"/s")
		if p.Total > p.Bytes {
			left := time.Duration(float64(p.Total-p.Bytes) / rate * float64(time.Second))
			parts = append(parts, clock(left)+" left")
		}
	}
	what := p.What
	if what == "" {
		what = "progress"
	}
	return what + ": " + strings.Join(parts, ", ")
}

// clock writes d as h:mm:ss, or m:ss under an hour.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
