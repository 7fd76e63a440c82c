// Command patchstorm is the /init of a guest that checks the harness's
// QEMU settings against a fault of QEMU 7.2's multi-threaded TCG: a vCPU
// runs a stale translation of kernel text that another vCPU has just
// patched, and the guest kernel dies of "Oops: int3" (it patches its own
// text at run time: static keys, tracepoints, alternatives).
//
// It mounts tracefs, keeps every CPU busy in code the kernel patches
// (freeing slab objects: kmem_cache_free and kfree carry tracepoints), and
// switches those tracepoints on and off until its time is up. It then
// prints a line the harness waits for and powers the guest off.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Done starts the line printed when the storm ends without a fault.
const Done = "drd-e2e-patchstorm: done"

var events = []string{
	"/sys/kernel/tracing/events/kmem/kmem_cache_free/enable",
	"/sys/kernel/tracing/events/kmem/kfree/enable",
}

func main() {
	if err := storm(); err != nil {
		fmt.Println("drd-e2e-patchstorm: failed:", err)
	}
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

// duration is drd.storm=SECONDS of the kernel command line, or 60 s.
func duration() time.Duration {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "drd.storm="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 60 * time.Second
}

func storm() error {
	for _, m := range []struct{ fs, dir string }{{"proc", "/proc"}, {"sysfs", "/sys"}, {"tracefs", "/sys/kernel/tracing"}} {
		os.MkdirAll(m.dir, 0o755)
		if err := syscall.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fs, m.dir, err)
		}
	}
	d := duration()
	fmt.Printf("drd-e2e-patchstorm: %d CPUs, %s\n", runtime.NumCPU(), d)
	for range runtime.NumCPU() + 1 {
		go churn()
	}
	toggles := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for _, e := range events {
			for _, v := range []string{"1", "0"} {
				if err := os.WriteFile(e, []byte(v), 0); err != nil {
					return err
				}
			}
		}
		toggles++
	}
	fmt.Printf("%s, %d toggles in %s\n", Done, toggles, d)
	return nil
}

// churn opens, reads and closes a proc file in a loop: every round
// allocates and frees seq_file buffers and file objects.
func churn() {
	for {
		os.ReadFile("/proc/self/stat")
	}
}
