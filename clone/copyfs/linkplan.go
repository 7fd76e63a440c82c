package copyfs

import (
	"cmp"
	"slices"
)

// linkRec is one name of a multiply-linked inode, in the source (src) or in
// the target (dst), seen by Sync.
type linkRec struct {
	rel string
	src uint64 // inode in the source
	dst uint64 // inode in the target
}

// linkGroup is what Sync does to the names of one source inode so that they
// share one target inode, which no name of another source inode shares.
type linkGroup struct {
	canonical string   // the name whose target inode the others link to
	fresh     bool     // canonical must first be copied again, on a new inode
	relink    []string // names to make hard links to canonical
}

// planLinks works out, from the names Sync saw, which target names must be
// re-linked. Each source inode keeps the target inode most of its names
// already use, unless an earlier group took that inode; then it gets a fresh
// copy. The plan is deterministic: groups and names in path order.
func planLinks(recs []linkRec) []linkGroup {
	byRel := map[string]linkRec{}
	for _, r := range recs {
		byRel[r.rel] = r // a name seen twice: the last word counts
	}
	groups := map[uint64][]linkRec{}
	for _, r := range byRel {
		groups[r.src] = append(groups[r.src], r)
	}
	order := make([][]linkRec, 0, len(groups))
	for _, g := range groups {
		slices.SortFunc(g, func(a, b linkRec) int { return cmp.Compare(a.rel, b.rel) })
		order = append(order, g)
	}
	slices.SortFunc(order, func(a, b []linkRec) int { return cmp.Compare(a[0].rel, b[0].rel) })

	taken := map[uint64]bool{}
	var plan []linkGroup
	for _, g := range order {
		count := map[uint64]int{}
		for _, r := range g {
			count[r.dst]++
		}
		// The most used target inode not taken; ties go to the first name.
		best, bestN := -1, 0
		for i, r := range g {
			if !taken[r.dst] && count[r.dst] > bestN {
				best, bestN = i, count[r.dst]
			}
		}
		lg := linkGroup{}
		if best < 0 {
			lg.canonical, lg.fresh = g[0].rel, true
			for _, r := range g[1:] {
				lg.relink = append(lg.relink, r.rel)
			}
		} else {
			keep := g[best].dst
			taken[keep] = true
			lg.canonical = g[best].rel
			for _, r := range g {
				if r.dst != keep {
					lg.relink = append(lg.relink, r.rel)
				}
			}
		}
		plan = append(plan, lg)
	}
	return plan
}
