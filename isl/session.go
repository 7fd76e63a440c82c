package isl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/drd-linux/drd/bootenv"
)

// Prompt is what STAGEISL prints before each command.
const Prompt = "STAGEISL> "

// System is what the prompt acts on: the machine's images and its
// boot. The real one (Machine) scans the disks; tests use a fake.
type System interface {
	// Scan finds every image on the machine's disks and the boot target.
	Scan(ctx context.Context) (*bootenv.Status, error)
	// Set makes the image the boot target, as drd activate does.
	Set(ctx context.Context, image string) error
	// Boot starts the image now (kexec); it returns only on failure.
	Boot(ctx context.Context, image string) error
	// Log is the end of the image's drd.log.
	Log(ctx context.Context, image string) (string, error)
	// Shell runs an interactive shell until it exits.
	Shell(ctx context.Context) error
	// Reboot restarts the machine; it returns only on failure.
	Reboot(ctx context.Context) error
}

// Run reads commands from in and answers on out until exit (nil) or the
// end of the input (io.EOF). Bad input and failed commands get one line
// beginning with "error:" and the prompt again.
func Run(ctx context.Context, sys System, in io.Reader, out io.Writer) error {
	fmt.Fprintln(out, "STAGEISL: drd's recovery utility. help lists the commands.")
	sc := bufio.NewScanner(in)
	for {
		fmt.Fprint(out, Prompt)
		if !sc.Scan() {
			fmt.Fprintln(out)
			if err := sc.Err(); err != nil {
				return err
			}
			return io.EOF
		}
		c, err := Parse(sc.Text())
		if err == nil {
			if c.Name == "exit" {
				return nil
			}
			err = Do(ctx, sys, c, out)
		}
		if err != nil {
			fmt.Fprintf(out, "error: %s\n", oneLine(err.Error()))
		}
	}
}

// Do carries out one command.
func Do(ctx context.Context, sys System, c Command, out io.Writer) error {
	switch c.Name {
	case "":
		return nil
	case "help":
		fmt.Fprint(out, Help())
		return nil
	case "status", "list":
		st, err := sys.Scan(ctx)
		if err != nil {
			return fmt.Errorf("scanning the disks: %w", err)
		}
		if c.Name == "list" {
			fmt.Fprint(out, FormatList(st))
		} else {
			fmt.Fprint(out, FormatStatus(st))
		}
		return nil
	case "set":
		if err := sys.Set(ctx, c.Arg); err != nil {
			return fmt.Errorf("set %s: %w", c.Arg, err)
		}
		fmt.Fprintf(out, "%s is the boot target.\n", c.Arg)
		return nil
	case "boot":
		name := c.Arg
		if name == "" {
			st, err := sys.Scan(ctx)
			if err != nil {
				return fmt.Errorf("scanning the disks: %w", err)
			}
			if st.Activated == "" {
				return fmt.Errorf("boot: no boot target is set; name an image (list shows them)")
			}
			name = st.Activated
		}
		fmt.Fprintf(out, "Booting %s ...\n", name)
		if err := sys.Boot(ctx, name); err != nil {
			return fmt.Errorf("boot %s: %w", name, err)
		}
		return nil
	case "log":
		text, err := sys.Log(ctx, c.Arg)
		if err != nil {
			return fmt.Errorf("log %s: %w", c.Arg, err)
		}
		fmt.Fprint(out, text)
		return nil
	case "shell":
		if err := sys.Shell(ctx); err != nil {
			return fmt.Errorf("shell: %w", err)
		}
		return nil
	case "reboot":
		if err := sys.Reboot(ctx); err != nil {
			return fmt.Errorf("reboot: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", c.Name)
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}
