package etcmerge

// splitLines cuts b after each newline; a last line without one is kept.
func splitLines(b []byte) []string {
	var lines []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i < len(b) {
			i++
		}
		lines = append(lines, string(b[:i]))
		b = b[i:]
	}
	return lines
}

// maxTrace bounds the memory of one diff (ints kept for the backtrack):
// past it the changed middle of the two files is taken as replaced whole,
// which is a correct diff, only not the shortest.
const maxTrace = 1 << 22

// match finds a longest common subsequence of a and b (Myers' O(ND)
// algorithm) and returns, for each line of a, the index of the line of b it
// matches, or -1. Matches increase in both a and b.
func match(a, b []string) []int {
	m := make([]int, len(a))
	for i := range m {
		m[i] = -1
	}
	// The common head and tail need no search.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		m[pre] = pre
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		m[len(a)-1-suf] = len(b) - 1 - suf
		suf++
	}
	myers(a[pre:len(a)-suf], b[pre:len(b)-suf], func(i, j int) { m[pre+i] = pre + j })
	return m
}

// myers calls matched(i, j) for each pair of a shortest edit script's
// common lines, last first.
func myers(a, b []string, matched func(i, j int)) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return
	}
	max := n + m
	off := max + 1
	v := make([]int, 2*max+3)
	var trace [][]int // trace[d]: v[-d-1..d+1] before step d
	kept := 0
	for d := 0; d <= max; d++ {
		kept += 2*d + 3
		if kept > maxTrace {
			return
		}
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				backtrack(trace, n, m, matched)
				return
			}
		}
	}
}

func backtrack(trace [][]int, x, y int, matched func(i, j int)) {
	for d := len(trace) - 1; d >= 0; d-- {
		v := trace[d]
		at := func(k int) int { return v[k+d+1] }
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			matched(x, y)
		}
		x, y = prevX, prevY
	}
}
