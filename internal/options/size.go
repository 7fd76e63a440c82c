package options

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// units of a Size, binary: 1K = 1024 bytes.
var units = map[string]float64{
	"": 1, "B": 1,
	"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50,
}

// ParseSize reads a size in bytes: a number, possibly with a fraction, and
// an optional binary unit K, M, G, T or P (also written KB, KiB, ...; case
// does not matter): "8G", "500M", "1.5T", "4096".
func ParseSize(s string) (int64, error) {
	bad := fmt.Errorf("invalid size %q: want a number and an optional unit K, M, G, T (as 8G or 500M)", s)
	t := strings.ToUpper(strings.TrimSpace(s))
	if u, ok := strings.CutSuffix(t, "IB"); ok && u != "" && strings.ContainsAny(u[len(u)-1:], "KMGTP") {
		t = u
	} else if u, ok := strings.CutSuffix(t, "B"); ok && u != "" && strings.ContainsAny(u[len(u)-1:], "KMGTP") {
		t = u
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], t[i:]
	}
	mult, ok := units[unit]
	if !ok || num == "" {
		return 0, bad
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || (mult > 1 && n > math.MaxInt64/int64(mult)) {
			return 0, bad
		}
		return n * int64(mult), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*mult >= math.MaxInt64 {
		return 0, bad
	}
	return int64(math.Round(f * mult)), nil
}

// FormatSize writes bytes the short way drd prints them, in binary units:
// 512B, 4K, 500M, 19.5G (one decimal unless the value is whole).
func FormatSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T", "P", "E"} {
		f /= 1024
		if f < 1024 || u == "E" {
			if f == math.Trunc(f) {
				return fmt.Sprintf("%.0f%s", f, u)
			}
			return fmt.Sprintf("%.1f%s", f, u)
		}
	}
	panic("unreachable")
}

func parseInt(s string) (int64, error) {
	return strconv.ParseInt(s, 10, 64)
}
