package imagesync

import (
	"path"
	"strings"

	"github.com/drd-linux/drd/internal/inroot"
)

// The decision lists, in the booted image's Dir: one absolute path a line
// (conflicts: the path, a tab, the reason; packages: name, version, what
// changed, tab-separated). A backslash and a line break in a name are
// written \\ and \n.
const (
	CopiedList    = "copied.list"
	DeletedList   = "deleted.list"
	MergedList    = "merged.list"
	ConflictsList = "conflicts.list"
	ExcludedList  = "excluded.list"
	PackagesList  = "packages.list"
)

// Lists renders the decision lists of a result, by file name.
func Lists(res *Result) map[string][]byte {
	paths := func(ps []string) []byte {
		var b strings.Builder
		for _, p := range ps {
			b.WriteString(escape(p) + "\n")
		}
		return []byte(b.String())
	}
	var c, p strings.Builder
	for _, x := range res.Conflicts {
		c.WriteString(escape(x.Path) + "\t" + escape(x.Reason) + "\n")
	}
	for _, x := range res.Packages {
		p.WriteString(x.Name + "\t" + x.Version + "\t" + x.Change + "\n")
	}
	return map[string][]byte{
		CopiedList: paths(res.Copied), DeletedList: paths(res.Deleted), MergedList: paths(res.Merged),
		ExcludedList: paths(res.Excluded), ConflictsList: []byte(c.String()), PackagesList: []byte(p.String()),
	}
}

func escape(s string) string {
	if !strings.ContainsAny(s, "\\\n\t") {
		return s
	}
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\t", "\\t").Replace(s)
}

// WriteLists writes the decision lists into the booted image at root,
// each atomically, resolved inside it.
func WriteLists(root string, res *Result) error {
	tr := inroot.Mounts(root)
	if err := tr.MkdirAll(Dir, 0o755); err != nil {
		return err
	}
	for name, data := range Lists(res) {
		if err := tr.WriteFile(path.Join(Dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
