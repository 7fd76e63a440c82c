package clone

import (
	"reflect"
	"strings"
	"testing"
)

const xfsInfoOut = `meta-data=/dev/loop0p4           isize=512    agcount=4, agsize=32768 blks
         =                       sectsz=512   attr=2, projid32bit=1
         =                       crc=1        finobt=1, sparse=1, rmapbt=0
         =                       reflink=1    bigtime=1 inobtcount=1 nrext64=0
data     =                       bsize=4096   blocks=131072, imaxpct=25
         =                       sunit=0      swidth=0 blks
naming   =version 2              bsize=4096   ascii-ci=0, ftype=1
log      =internal log           bsize=4096   blocks=16384, version=2
         =                       sectsz=512   sunit=0 blks, lazy-count=1
realtime =none                   extsz=4096   blocks=0, rtextents=0
`

func TestParseXFSInfo(t *testing.T) {
	p, err := parseXFSInfo([]byte(xfsInfoOut))
	if err != nil {
		t.Fatal(err)
	}
	got := mkfsXFSArgs(p, "/dev/x", "drd001-root", "u-u")
	want := strings.Fields("-t xfs -f -q -m crc=1,finobt=1,rmapbt=0,reflink=1,bigtime=1,inobtcount=1,uuid=u-u -b size=4096 -L drd001-root -i size=512,sparse=1 -n ftype=1 /dev/x")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := parseXFSInfo([]byte("nothing here")); err == nil {
		t.Error("garbage accepted")
	}
}
