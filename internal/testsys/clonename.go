package testsys

import (
	"context"
	"testing"

	"github.com/drd-linux/drd/bootenv"
)

// CloneName is the name of the one clone of the system at root, read
// back from a scan: it is the lowest name free on the machine when it was
// made (other tests' images may hold sysimage_001). Tests name it in
// every call: without a name drd takes the only inactive image only while
// no drd-named device on the machine is unreadable, and another test
// running at the same time may have made one.
func CloneName(t testing.TB, root string) string {
	t.Helper()
	st, err := bootenv.Scan(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, img := range st.Images {
		if !img.Booted {
			names = append(names, img.Name)
		}
	}
	if len(names) != 1 {
		t.Fatalf("the system at %s has the clones %q, want one", root, names)
	}
	return names[0]
}
