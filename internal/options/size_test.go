package options

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"4096", 4096, true},
		{"512B", 512, true},
		{"1K", 1024, true},
		{"500M", 500 << 20, true},
		{"500m", 500 << 20, true},
		{"8G", 8 << 30, true},
		{"8GB", 8 << 30, true},
		{"8GiB", 8 << 30, true},
		{"1.5T", 3 << 39, true},
		{" 2P ", 2 << 50, true},
		{"", 0, false},
		{"G", 0, false},
		{"8Q", 0, false},
		{"-1G", 0, false},
		{"8 G", 0, false},
		{"8iB", 0, false},
		{"1.2.3G", 0, false},
		{"9999999999P", 0, false},
		{"9223372036854775807", 1<<63 - 1, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{1023, "1023B"},
		{1024, "1K"},
		{1536, "1.5K"},
		{500 << 20, "500M"},
		{19*(1<<30) + 1<<29, "19.5G"},
		{8 << 40, "8T"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
