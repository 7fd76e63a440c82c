package clone

import (
	"slices"
	"strings"
	"testing"
)

func div(s []int64, d int64) []int64 {
	var out []int64
	for _, v := range s {
		out = append(out, v/d)
	}
	return out
}

func TestSizeTarget(t *testing.T) {
	tests := []struct {
		name   string
		target int64
		needs  []need
		want   []int64
	}{
		{
			name:   "same size disk, proportional",
			target: 10 * gib,
			needs: []need{
				{mountPoint: "/", size: 8 * gib, used: 2 * gib},
				{mountPoint: "/boot", size: 1 * gib, used: 100 * mib},
			},
			// 10237 MiB after the GPT and BIOS boot: 8/9 and 1/9 of it,
			// the MiB rounding leaves to /
			want: []int64{9100 * mib, 1137 * mib},
		},
		{
			name:   "small target pins the full file system at used+10%",
			target: 4 * gib,
			needs: []need{
				{mountPoint: "/", size: 8 * gib, used: 1 * gib},
				{mountPoint: "/var", size: 1 * gib, used: 900 * mib},
			},
			// /var's ninth of 4093 MiB is below 990 MiB (used+10%): / has the rest
			want: []int64{3103 * mib, 990 * mib},
		},
		{
			name:   "esp keeps its size",
			target: 4 * gib,
			needs: []need{
				{mountPoint: "/", size: 2 * gib, used: 1 * gib},
				{mountPoint: "/boot/efi", size: 512 * mib, fixed: true},
			},
			want: []int64{3581 * mib, 512 * mib},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sizes, err := sizeTarget(tt.target, tt.needs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sizes, tt.want) {
				t.Errorf("sizes = %v MiB, want %v MiB", div(sizes, mib), div(tt.want, mib))
			}
			var total int64
			for i, s := range sizes {
				if s%mib != 0 {
					t.Errorf("%s: size %d not MiB-aligned", tt.needs[i].mountPoint, s)
				}
				if s < tt.needs[i].minimum() {
					t.Errorf("%s: size %s below minimum %s", tt.needs[i].mountPoint, humanSize(s), humanSize(tt.needs[i].minimum()))
				}
				if tt.needs[i].fixed && s != alignUp(tt.needs[i].size) {
					t.Errorf("%s: fixed size changed to %s", tt.needs[i].mountPoint, humanSize(s))
				}
				total += s
			}
			avail := alignDown(tt.target - gptOverhead - biosBootSize)
			if total > avail || avail-total >= mib {
				t.Errorf("sizes %v add up to %d, want all of %d", sizes, total, avail)
			}
		})
	}
}

func TestSizeTargetProportional(t *testing.T) {
	sizes, err := sizeTarget(20*gib+gptOverhead+biosBootSize, []need{
		{mountPoint: "/", size: 30 * gib, used: gib}, {mountPoint: "/var", size: 10 * gib, used: gib},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sizes[0] != 15*gib || sizes[1] != 5*gib {
		t.Errorf("sizes = %s, %s; want 15 GiB, 5 GiB", humanSize(sizes[0]), humanSize(sizes[1]))
	}
}

func TestSizeTargetTooSmall(t *testing.T) {
	_, err := sizeTarget(1*gib, []need{{mountPoint: "/", size: 8 * gib, used: 1 * gib}})
	if err == nil || !strings.Contains(err.Error(), "need at least 1.1 GiB") {
		t.Errorf("want a too-small error naming 1.1 GiB, got %v", err)
	}
}
