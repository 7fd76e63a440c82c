package clone

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// minXFSSize: mkfs.xfs refuses file systems under 300 MiB.
const minXFSSize = 300 * mib

// xfsParams are the properties of a source xfs file system its clone keeps.
type xfsParams struct {
	meta  []string // -m options: crc=1, finobt=1, reflink=1, ...
	inode []string // -i options: size=512, sparse=1
	block string   // -b size=4096
	ftype string   // -n ftype=1
}

var xfsField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([a-z0-9_-]+)=([0-9]+)`) })

// parseXFSInfo reads the output of `xfs_info`. Its sections (meta-data,
// data, naming, log) each hold name=value pairs; a section's continuation
// lines start with "=".
func parseXFSInfo(out []byte) (xfsParams, error) {
	var p xfsParams
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		if head, _, ok := strings.Cut(line, "="); ok && strings.TrimSpace(head) != "" {
			section = strings.TrimSpace(head)
		}
		for _, m := range xfsField().FindAllStringSubmatch(line, -1) {
			k, v := m[1], m[2]
			switch {
			case section == "meta-data" && (k == "crc" || k == "finobt" || k == "rmapbt" || k == "reflink" || k == "bigtime" || k == "inobtcount"):
				p.meta = append(p.meta, k+"="+v)
			case section == "meta-data" && k == "isize":
				p.inode = append(p.inode, "size="+v)
			case section == "meta-data" && k == "sparse":
				p.inode = append(p.inode, "sparse="+v)
			case section == "data" && k == "bsize":
				p.block = "size=" + v
			case section == "naming" && k == "ftype":
				p.ftype = "ftype=" + v
			}
		}
	}
	if len(p.meta) == 0 || p.block == "" {
		return p, fmt.Errorf("xfs_info printed no meta-data options or block size")
	}
	return p, nil
}

// mkfsXFSArgs is the mkfs.xfs command line for a clone of a file system
// with params p.
func mkfsXFSArgs(p xfsParams, dev, label, uuid string) []string {
	args := []string{"-t", "xfs", "-f", "-q",
		"-m", strings.Join(append(append([]string{}, p.meta...), "uuid="+uuid), ","),
		"-b", p.block,
		"-L", label,
	}
	if len(p.inode) > 0 {
		args = append(args, "-i", strings.Join(p.inode, ","))
	}
	if p.ftype != "" {
		args = append(args, "-n", p.ftype)
	}
	return append(args, dev)
}
