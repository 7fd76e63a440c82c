package e2e

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/drd-linux/drd/isl"
)

// Driving the serial console at boot time: GRUB's menu and the STAGEISL
// prompt (docs/isl.md). Both wait on console patterns with timeouts and
// fail with the console's tail.

var islPromptRE = regexp.MustCompile(regexp.QuoteMeta(isl.Prompt))

// WaitISL waits up to timeout for the STAGEISL prompt.
func (vm *VM) WaitISL(timeout time.Duration) {
	vm.t.Helper()
	vm.Wait(islPromptRE.String(), timeout)
}

// ISL types cmd at the STAGEISL prompt (which must be showing) and
// returns what STAGEISL answered before its next prompt, without the
// echo of cmd, escape sequences and carriage returns.
func (vm *VM) ISL(cmd string, timeout time.Duration) string {
	vm.t.Helper()
	t0 := time.Now()
	vm.Send(cmd + "\n")
	m := vm.Wait(`(?s)(.*?)`+islPromptRE.String(), timeout)
	out := islReply(m[1], cmd)
	vm.t.Logf("VM %s: STAGEISL> %s (%.1fs)\n%s", vm.Name, cmd, time.Since(t0).Seconds(), out)
	return out
}

// islReply cleans what the console showed after a command was typed: no
// escape sequences or carriage returns, and without the terminal's echo
// of the command line.
func islReply(raw, cmd string) string {
	s := strings.ReplaceAll(ansi.ReplaceAllString(raw, ""), "\r", "")
	if rest, ok := strings.CutPrefix(s, cmd+"\n"); ok {
		return rest
	}
	return s
}

// ChooseGRUBEntry waits up to timeout for GRUB's menu on the serial
// console and presses hotkey, the hotkey of an entry, until the console
// shows started (a pattern: what the entry prints as it starts). GRUB's
// menu times out after a second (GRUB_TIMEOUT=1): the key goes out as
// soon as the menu's header shows, and again every 3 s (5 times at
// most) while the entry has not started.
func (vm *VM) ChooseGRUBEntry(hotkey, started string, timeout time.Duration) {
	vm.t.Helper()
	vm.Wait(`GNU GRUB`, timeout)
	re := regexp.MustCompile(started)
	for try := 0; try < 5; try++ {
		vm.Send(hotkey)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := vm.p.console.Wait(ctx, re)
		cancel()
		if err == nil {
			vm.t.Logf("VM %s: GRUB started the entry of hotkey %q (%d press(es))", vm.Name, hotkey, try+1)
			return
		}
	}
	vm.t.Fatal(vm.failure("GRUB did not start the entry of hotkey %q (no %q) after 5 presses", hotkey, started))
}
