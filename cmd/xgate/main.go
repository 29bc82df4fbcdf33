package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// when empty, versionString derives one from the build information.
var version string

func main() {
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, kinds: transportKinds}
	os.Exit(c.main(os.Args[1:]))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command failed
	exitUsage   = 2 // the command line is wrong
)

// cli runs one command line.
type cli struct {
	stdout, stderr io.Writer
	kinds          []transportKind
	// ready, if set, is called by run once it serves, with the admin
	// endpoint's address ("" when disabled). For tests.
	ready func(adminAddr string)
}

// command is one subcommand.
type command struct {
	name    string
	args    string // what follows the name in the usage line
	summary string
	// setup declares the command's flags on fs and returns the function
	// that runs it with the remaining positional arguments.
	setup func(c *cli, fs *flagSet) func(args []string) int
}

// commands is the subcommand table, in the order `xgate help` lists them.
var commands = []command{
	{"run", "[-c FILE]", "run the gateways until SIGINT or SIGTERM", (*cli).runCommand},
	{"check-config", "[-c FILE]", "check the configuration file (reads secrets, connects nowhere)", (*cli).checkConfigCommand},
	{"backup", "[-c FILE | --db PATH] [-f] OUT", "copy the store of a stopped xgate to OUT (a file or a directory)", (*cli).backupCommand},
	{"store", "check|salvage [-c FILE | --db PATH] [-out NEW]", "check the store of a stopped xgate, or salvage a damaged one", (*cli).storeCommand},
	{"genkey", "", "print a new store encryption key", (*cli).genkeyCommand},
	{"version", "", "print the version", (*cli).versionCommand},
	{"demo", "[--script] [-server ADDR] [-user JID] [-playground ADDR] [-dir DIR]", "try xgate without accounts: a fake Slack workspace whose people answer, on a private Prosody", (*cli).demoCommand},
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// main runs the command line (without the program name) and returns the
// exit code.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			c.usage(c.stdout)
			return exitOK
		}
		cmd := findCommand(rest[0])
		if cmd == nil {
			fmt.Fprintf(c.stderr, "xgate: unknown command %q\n", rest[0])
			return exitUsage
		}
		fs := newFlagSet(cmd, c.stdout)
		cmd.setup(c, fs)
		fs.Usage()
		return exitOK
	}
	cmd := findCommand(name)
	if cmd == nil {
		fmt.Fprintf(c.stderr, "xgate: unknown command %q\n\n", name)
		c.usage(c.stderr)
		return exitUsage
	}
	fs := newFlagSet(cmd, c.stderr)
	run := cmd.setup(c, fs)
	pos, err := fs.parse(rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	return run(pos)
}

// usage writes the list of commands.
func (c *cli) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("xgate bridges Slack, Discord and SMS to XMPP as components of an XMPP server.\n\n")
	b.WriteString("Usage:\n  xgate <command> [flags] [arguments]\n\nCommands:\n")
	for _, cmd := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(&b, "\nThe configuration file defaults to %s; config.example.toml documents every option.\n", defaultConfigPath)
	b.WriteString("Run \"xgate help <command>\" or \"xgate <command> -h\" for a command's flags.\n")
	io.WriteString(w, b.String())
}

// fail prints a failure and returns exitFailure.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "xgate: %v\n", err)
	return exitFailure
}

// usageError prints a command line mistake and returns exitUsage.
func (c *cli) usageError(fs *flagSet, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "xgate %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}

// versionString returns the version set at build time or, failing that,
// the module version or VCS revision recorded by the Go toolchain.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev[:min(12, len(rev))] + dirty
}

func (c *cli) versionCommand(fs *flagSet) func([]string) int {
	return func(args []string) int {
		if len(args) > 0 {
			return c.usageError(fs, "unexpected argument %q", args[0])
		}
		fmt.Fprintf(c.stdout, "xgate %s (%s %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
}
