package runcmd

import (
	"context"
	"os"
	"testing"

	"github.com/drd-linux/drd/internal/report"
)

func TestJailSmoke(t *testing.T) {
	dir := minbase(t)
	spec := Plan(PlanInput{Root: dir, Image: "test", Argv: []string{"sh", "-c", "id; cat /proc/self/status | grep Cap; ls /; mount | head -30; echo $SW_SESSION_IS_DRD; ps -ef"}})
	res, err := Jail{}.Run(context.Background(), spec, Stdio{Out: os.Stdout, Err: os.Stderr}, report.Func(t.Logf))
	t.Logf("%+v %v", res, err)
}
