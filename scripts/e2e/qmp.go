package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmp runs one QEMU monitor command (system_reset, quit, ...) on the QMP
// socket at path.
func qmp(path, command string) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connecting to the QEMU monitor %s: %w", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadBytes('\n'); err != nil { // greeting
		return fmt.Errorf("reading the QEMU monitor greeting: %w", err)
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		if _, err := fmt.Fprintf(c, "{\"execute\":%q}\n", cmd); err != nil {
			return fmt.Errorf("sending %s to the QEMU monitor: %w", cmd, err)
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				if cmd == "quit" {
					return nil
				}
				return fmt.Errorf("reading the answer to %s from the QEMU monitor: %w", cmd, err)
			}
			var ans struct {
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Desc string `json:"desc"`
				} `json:"error"`
			}
			if json.Unmarshal(line, &ans) != nil {
				continue
			}
			if ans.Error != nil {
				return fmt.Errorf("QEMU monitor: %s: %s", cmd, ans.Error.Desc)
			}
			if ans.Return != nil {
				break
			}
		}
	}
	return nil
}
