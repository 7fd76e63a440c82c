package etcmerge

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Accounts merges an account file of /etc entry by entry; name is its base
// name: passwd, group, shadow, gshadow, subuid or subgid. Entries are keyed
// by user or group name (subuid and subgid by the whole line):
//   - an entry added on one side is kept; added on both sides, the same, once;
//   - an entry changed on one side takes that change; changed on both sides,
//     the same, once; a group's member lists changed on both sides are
//     merged as sets when nothing else of the entry differs;
//   - an entry deleted on one side is deleted, unless the other side
//     changed it;
//   - the same uid or gid given to two different new names, one on each
//     side, is a conflict.
//
// The clone's order is kept; entries only the booted side added follow, in
// its order. Every other disagreement is a *Conflict naming its entries.
// When one side equals base, the other side is the result as it is.
func Accounts(name string, base, clone, booted []byte) ([]byte, error) {
	k, ok := kinds[name]
	if !ok {
		return nil, fmt.Errorf("merging %s: not an account file (passwd, group, shadow, gshadow, subuid or subgid)", name)
	}
	switch {
	case bytes.Equal(clone, base), bytes.Equal(clone, booted):
		return booted, nil
	case bytes.Equal(booted, base):
		return clone, nil
	}
	out, conflicts := k.merge(parseEntries(k, base), parseEntries(k, clone), parseEntries(k, booted))
	if len(conflicts) > 0 {
		return nil, &Conflict{Reason: joinReasons(conflicts)}
	}
	var s strings.Builder
	for _, m := range out {
		s.WriteString(m.line)
		s.WriteByte('\n')
	}
	return []byte(s.String()), nil
}

// merge merges three versions entry by entry and says why it cannot.
func (k kind) merge(o, a, b entries) ([]merged, []string) {
	var out []merged
	var conflicts []string
	for _, e := range []struct {
		entries
		where string
	}{{o, "as cloned"}, {a, "in the clone"}, {b, "on the booted system"}} {
		for _, key := range e.twice {
			conflicts = append(conflicts, fmt.Sprintf("%s is listed twice %s", k.label(key), e.where))
		}
	}
	if len(conflicts) > 0 {
		return nil, conflicts
	}
	add := func(key string, clone *string) {
		line, from, err := k.mergeEntry(key, o.at(key), clone, b.at(key))
		switch {
		case err != "":
			conflicts = append(conflicts, err)
		case line != nil:
			out = append(out, merged{key: key, line: *line, from: from})
		}
	}
	for _, key := range a.order {
		add(key, a.at(key))
	}
	for _, key := range b.order {
		if !a.has(key) {
			add(key, nil)
		}
	}
	return out, append(conflicts, k.idClashes(out)...)
}

// kind describes one account file.
type kind struct {
	what    string // "user", "group" or "range"
	byLine  bool   // keyed by the whole line (subuid, subgid)
	idField int    // the uid or gid field, or -1
	members []int  // fields that are comma-separated member lists
}

var kinds = map[string]kind{
	"passwd":  {what: "user", idField: 2},
	"shadow":  {what: "user", idField: -1},
	"group":   {what: "group", idField: 2, members: []int{3}},
	"gshadow": {what: "group", idField: -1, members: []int{2, 3}},
	"subuid":  {what: "range", byLine: true, idField: -1},
	"subgid":  {what: "range", byLine: true, idField: -1},
}

// side names where a merged entry's id came from: the clone, the booted
// image, or neither (as in base).
type side int

const (
	fromBase side = iota
	fromClone
	fromBooted
)

type merged struct {
	key, line string
	from      side
}

// entries is one version of an account file: its lines by key, in order.
type entries struct {
	order []string
	lines map[string]string
	twice []string // names listed more than once
}

func (e entries) has(key string) bool { _, ok := e.lines[key]; return ok }

func (e entries) at(key string) *string {
	if l, ok := e.lines[key]; ok {
		return &l
	}
	return nil
}

// parseEntries keys each line by its name (or whole line). A line that
// repeats a key gets the key and its occurrence, so that nothing is lost
// or merged with another: for whole lines (comments, blank lines, subuid
// ranges) that is a multiset; a repeated name is noted in twice.
func parseEntries(k kind, text []byte) entries {
	e := entries{lines: map[string]string{}}
	seen := map[string]int{}
	for _, l := range splitLines(text) {
		l = strings.TrimSuffix(l, "\n")
		key := l
		if !k.byLine {
			name, _, ok := strings.Cut(l, ":")
			if ok && name != "" && !strings.HasPrefix(name, "#") {
				key = ":" + name
			}
		}
		seen[key]++
		if n := seen[key]; n > 1 {
			if n == 2 && strings.HasPrefix(key, ":") {
				e.twice = append(e.twice, key)
			}
			key = fmt.Sprintf("%s\x00%d", key, n)
		}
		e.order = append(e.order, key)
		e.lines[key] = l
	}
	return e
}

// label names an entry for an administrator: user 'bob', the line '...'.
func (k kind) label(key string) string {
	key, _, _ = strings.Cut(key, "\x00")
	if name, ok := strings.CutPrefix(key, ":"); ok && !k.byLine {
		return fmt.Sprintf("%s '%s'", k.what, name)
	}
	return fmt.Sprintf("the line '%s'", key)
}

// mergeEntry merges one entry's three versions (nil: absent). It returns
// the merged line (nil: deleted) and which side its id came from, or why
// it cannot be merged.
func (k kind) mergeEntry(key string, o, a, b *string) (*string, side, string) {
	eq := func(x, y *string) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	who := k.label(key)
	switch {
	case eq(a, b):
		return a, k.idFrom(o, a, fromClone), ""
	case eq(a, o):
		return b, k.idFrom(o, b, fromBooted), ""
	case eq(b, o):
		return a, k.idFrom(o, a, fromClone), ""
	case o == nil:
		return nil, 0, who + " added on both sides with different entries"
	case a == nil:
		return nil, 0, who + " deleted in the clone and changed on the booted system"
	case b == nil:
		return nil, 0, who + " deleted on the booted system and changed in the clone"
	}
	if line, ok := k.mergeMembers(*o, *a, *b); ok {
		return &line, k.idFrom(o, a, fromClone), ""
	}
	return nil, 0, who + " changed on both sides with different entries"
}

// idFrom tells whether line took its id from side s (a new entry, or a new
// id) or kept base's.
func (k kind) idFrom(o, line *string, s side) side {
	if k.idField < 0 || line == nil {
		return fromBase
	}
	if o != nil && field(*o, k.idField) == field(*line, k.idField) {
		return fromBase
	}
	return s
}

func field(line string, i int) string {
	f := strings.Split(line, ":")
	if i < len(f) {
		return f[i]
	}
	return ""
}

// mergeMembers merges two changed versions of a group entry that differ
// only in member lists: a member either side added is in, a member either
// side removed is out; the clone's order, then the booted side's additions.
func (k kind) mergeMembers(o, a, b string) (string, bool) {
	if len(k.members) == 0 {
		return "", false
	}
	fo, fa, fb := strings.Split(o, ":"), strings.Split(a, ":"), strings.Split(b, ":")
	if len(fa) != len(fb) || len(fa) != len(fo) {
		return "", false
	}
	out := slices.Clone(fa)
	for i := range fa {
		if !slices.Contains(k.members, i) {
			if fa[i] != fb[i] {
				return "", false
			}
			continue
		}
		out[i] = mergeSet(fo[i], fa[i], fb[i])
	}
	return strings.Join(out, ":"), true
}

// mergeSet merges comma-separated sets three-way.
func mergeSet(o, a, b string) string {
	so, sa, sb := split(o), split(a), split(b)
	var out []string
	add := func(m string) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, m := range sa {
		if slices.Contains(sb, m) || !slices.Contains(so, m) {
			add(m)
		}
	}
	for _, m := range sb {
		if !slices.Contains(so, m) {
			add(m)
		}
	}
	return strings.Join(out, ",")
}

func split(s string) []string {
	var out []string
	for _, m := range strings.Split(s, ",") {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// idClashes finds ids that the merge gives to two names, one of them new
// from the clone and the other new from the booted side.
func (k kind) idClashes(out []merged) []string {
	if k.idField < 0 {
		return nil
	}
	byID := map[string][]merged{}
	var ids []string
	for _, m := range out {
		if m.from == fromBase {
			continue
		}
		id := field(m.line, k.idField)
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], m)
	}
	idName := map[string]string{"user": "uid", "group": "gid"}[k.what]
	var clashes []string
	for _, id := range ids {
		var inClone, onBooted *merged
		for i, m := range byID[id] {
			if m.from == fromClone && inClone == nil {
				inClone = &byID[id][i]
			}
			if m.from == fromBooted && onBooted == nil {
				onBooted = &byID[id][i]
			}
		}
		if inClone != nil && onBooted != nil {
			clashes = append(clashes, fmt.Sprintf("%s %s given to %s in the clone and to %s on the booted system",
				idName, id, k.label(inClone.key), k.label(onBooted.key)))
		}
	}
	return clashes
}
