package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/drd-linux/drd/internal/console"
	"github.com/drd-linux/drd/internal/eventlog"
	"github.com/drd-linux/drd/internal/lock"
	"github.com/drd-linux/drd/internal/options"
	"github.com/drd-linux/drd/internal/report"
)

// command is one drd subcommand, declared as data in its own file and
// registered there with register. Every command gets -q, -v, -x and -X
// (and -p if it can preview), a BEGIN and an END banner, the log, and, if
// it changes the system, the lock.
type command struct {
	name      string
	usage     string // one line for drd -h
	argsUsage string // "[IMAGE]"
	what      string // the banners: "BEGIN <what>"
	maxArgs   int
	// stopAtArg: flags end at the first argument (the rest is a command
	// line of its own, as for drd runcmd apt-get install -y PKG).
	stopAtArg bool
	preview   bool // has -p
	hidden    bool // left out of drd -h (run by the system, not by people)
	locks     bool // changes the system: holds drd.lock while it runs
	flags     []cli.Flag
	options   []options.Spec // its extended options (-x, -X)

	// subcommands make c a group (drd isl install): c itself only names
	// them; each has the full words as its name ("isl install").
	subcommands []*command

	// check finds usage errors in the command's own flags and arguments,
	// before anything is printed, logged or locked. May be nil.
	check func(inv *invocation) error
	// run does the work, reporting through inv.r.
	run func(ctx context.Context, inv *invocation) error
}

// invocation is one parsed command line of a command.
type invocation struct {
	sys     system
	cmd     *cli.Command // its own flags
	root    string       // --root, absolute
	args    []string
	preview bool
	level   int // console.Default + count(-v) - count(-q)
	opts    options.Values
	conf    string // which defaults drd.conf gave, for the log; "" if none
	stdout  io.Writer
	r       report.Reporter
}

var commands = map[string]*command{}

// register adds a command to drd; each command's file calls it from init.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("drd: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func sortedCommands() []*command {
	var cs []*command
	for _, c := range commands {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	return cs
}

// cli builds the urfave/cli command of c.
func (c *command) cli(env *env) *cli.Command {
	if len(c.subcommands) > 0 {
		return c.groupCLI(env)
	}
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "q", Usage: "quieter: -q shows only warnings, errors and the END line; -qq not even that line", Config: cli.BoolConfig{Count: new(int)}},
		&cli.BoolFlag{Name: "v", Usage: "more verbose: show details (notes)", Config: cli.BoolConfig{Count: new(int)}},
		&cli.StringSliceFlag{Name: "x", Usage: "extended option `name=value` (repeatable); -x -? lists them"},
		&cli.StringFlag{Name: "X", Usage: "read extended options from `FILE` (name=value lines); -x wins"},
	}
	if c.preview {
		flags = append([]cli.Flag{&cli.BoolFlag{Name: "p", Usage: "preview: run every check and show the plan, change nothing"}}, flags...)
	}
	var stopOn *int
	if c.stopAtArg {
		stopOn = new(int)
		*stopOn = 1
	}
	return &cli.Command{
		Metadata:                  map[string]any{"drd": c}, // for drd generate's man pages
		StopOnNthArg:              stopOn,
		Name:                      c.word(),
		Usage:                     c.usage,
		Hidden:                    c.hidden,
		ArgsUsage:                 c.argsUsage,
		Flags:                     append(flags, c.flags...),
		UseShortOptionHandling:    true, // -vv, -qq
		DisableSliceFlagSeparator: true, // -x exclude=/a,b is one path
		OnUsageError:              onUsageError,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			inv, err := c.parse(cmd, env)
			if err != nil || inv == nil {
				return err
			}
			return c.execute(ctx, inv, env)
		},
	}
}

// word is c's own word on the command line: install of "isl install".
func (c *command) word() string { return c.name[strings.LastIndex(c.name, " ")+1:] }

// groupCLI builds the urfave/cli command of a group: its subcommands, and
// a usage error for anything else.
func (c *command) groupCLI(env *env) *cli.Command {
	var subs []*cli.Command
	var words []string
	for _, s := range c.subcommands {
		subs = append(subs, s.cli(env))
		words = append(words, s.word())
	}
	return &cli.Command{
		Metadata:        map[string]any{"drd": c},
		Name:            c.name,
		Usage:           c.usage,
		Hidden:          c.hidden,
		Commands:        subs,
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.NArg() == 0 {
				return usagef("drd "+c.name, "no subcommand given: want %s", strings.Join(words, ", "))
			}
			return usagef("drd "+c.name, "unknown subcommand %q: want %s", cmd.Args().First(), strings.Join(words, ", "))
		},
	}
}

// parse checks the command line. A nil invocation and error means the
// request was answered already (-x -?).
func (c *command) parse(cmd *cli.Command, env *env) (*invocation, error) {
	name := "drd " + c.name
	root, err := rootDir(cmd)
	if err != nil {
		return nil, err
	}
	var defaults options.Defaults // from drd.conf, for a command with extended options
	if len(c.options) > 0 {
		conf, err := readConf(name, root)
		if err != nil {
			return nil, err
		}
		defaults = conf.For(confName(c.name))
	}
	xs := cmd.StringSlice("x")
	if options.WantsHelp(xs) {
		switch {
		case len(c.options) == 0:
			fmt.Fprintf(env.stdout, "%s has no extended options.\n", name)
		default:
			fmt.Fprintf(env.stdout, "Extended options of %s (-x name=value, or name=value lines in a -X file):\n%s", name, options.Help(c.options, defaults))
			if len(defaults.Set()) > 0 {
				fmt.Fprintf(env.stdout, "Defaults marked drd.conf are set in %s; -X and -x win over them.\n", confPath(root))
			}
		}
		return nil, nil
	}
	if c.locks && env.sys.uid != 0 {
		return nil, &usageError{cmd: name, err: fmt.Errorf("needs root: it changes the system, and %s (uid %d) is not root", env.sys.user, env.sys.uid),
			hint: fmt.Sprintf("Run it as root: sudo %s", commandLine(env.argv))}
	}
	var file []byte
	if path := cmd.String("X"); path != "" {
		var err error
		if file, err = os.ReadFile(path); err != nil {
			return nil, &usageError{cmd: name, err: fmt.Errorf("reading option file: %w", err)}
		}
	}
	opts, err := options.Parse(c.options, defaults, xs, file)
	if err != nil {
		var fe *options.FileError
		if errors.As(err, &fe) {
			err = fmt.Errorf("option file %s, %w", cmd.String("X"), fe)
		}
		return nil, &usageError{cmd: name, err: err, hint: fmt.Sprintf("Run '%s -x -?' for the extended options.", name)}
	}
	if n := cmd.NArg(); n > c.maxArgs {
		return nil, usagef(name, "too many arguments: %q", cmd.Args().Slice()[c.maxArgs:])
	}
	inv := &invocation{
		sys:     env.sys,
		cmd:     cmd,
		root:    root,
		args:    cmd.Args().Slice(),
		preview: c.preview && cmd.Bool("p"),
		level:   console.Default + cmd.Count("v") - cmd.Count("q"),
		opts:    opts,
		conf:    confNote(root, defaults),
		stdout:  env.stdout,
	}
	if c.check != nil {
		if err := c.check(inv); err != nil {
			return nil, &usageError{cmd: name, err: err}
		}
	}
	return inv, nil
}

// execute runs a parsed command between its banners, with the log and,
// for a command that changes the system, the lock.
func (c *command) execute(ctx context.Context, inv *invocation, env *env) error {
	// Without root, a command that only reads (drd status) runs, and
	// leaves drd's files (the log) alone.
	readOnly := env.sys.uid != 0 && !c.locks
	var logFile *os.File
	var logErr error
	var log io.Writer
	if !readOnly {
		if logFile, logErr = console.OpenLog(inv.root); logErr == nil {
			defer logFile.Close()
			log = logFile
		}
	}
	if c.locks { // a session: its own log too (eventlog.Dir/session.log, 25 kept)
		var endSession func()
		log, endSession = eventlog.Session(inv.root, log)
		defer endSession()
	}
	con := console.New(env.stderr, log, console.Options{
		Level: inv.level, Terminal: env.sys.terminal, Now: env.sys.now, PID: env.sys.pid,
	})
	inv.r = con
	con.Begin(c.what, env.sys.user)
	if logErr != nil {
		con.Warn("not writing the log: %v", logErr)
	}
	if readOnly {
		con.Note("not root: not writing %s", console.LogPath(inv.root))
	}
	if inv.conf != "" {
		con.Note("%s", inv.conf)
	}
	var err error
	if c.locks {
		var l *lock.Lock
		l, err = acquireLock(ctx, inv.root, lock.Holder{
			PID: env.sys.pid, User: env.sys.user, Command: commandLine(env.argv), Since: env.sys.now(),
		}, con)
		if err == nil {
			err = c.run(ctx, inv)
			if rerr := l.Release(); rerr != nil {
				con.Warn("releasing %s: %v", lock.Path(inv.root), rerr)
			}
		}
	} else {
		err = c.run(ctx, inv)
		if err != nil && readOnly && errors.Is(err, fs.ErrPermission) {
			err = fmt.Errorf("%w: %s sees only what %s (uid %d) may read; run it as root", err, "drd "+c.name, env.sys.user, env.sys.uid)
		}
	}
	if c.locks && !inv.preview && c.name != "runcmd" { // a change: its event record (runcmd writes its own, with the packages)
		if lerr := eventlog.Append(inv.root, eventlog.Done(c.name, env.sys.user, commandLine(env.argv), env.sys.now(), err)); lerr != nil {
			con.Warn("%v", lerr)
		}
	}
	con.End(err)
	env.warnings = con.Warnings()
	if err != nil {
		return &reportedError{err}
	}
	return nil
}

// bootCheckWait is how long a command waits for the boot check, which
// holds drd's lock for a minute or two after each boot.
const bootCheckWait = 15 * time.Minute

// acquireLock takes drd's lock; while the boot check holds it, it waits
// for it (up to bootCheckWait), saying so, instead of failing.
func acquireLock(ctx context.Context, root string, h lock.Holder, con *console.Console) (*lock.Lock, error) {
	ctx, cancel := context.WithTimeout(ctx, bootCheckWait)
	defer cancel()
	return lock.AcquireWaiting(ctx, root, h, lock.Waiting{For: isBootCheck, Poll: time.Second, Start: func(e *lock.BusyError) {
		con.Step("Waiting for the boot check (pid %d, since %s) to finish: it holds drd's lock (at most %v)", e.Holder.PID, e.Holder.Since.Format("15:04:05"), bootCheckWait)
	}})
}

// isBootCheck tells whether h is drd's boot check (drd boot-check, as
// the drd-boot-check unit runs it), which every boot runs for a minute
// or two and which a command run then should wait for.
func isBootCheck(h lock.Holder) bool {
	f := strings.Fields(h.Command)
	return len(f) >= 2 && filepath.Base(strings.Trim(f[0], `'"`)) == "drd" && f[1] == "boot-check"
}
