package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xgate-im/xgate/internal/procs"
	"github.com/xgate-im/xgate/store"
)

// flagSet is a flag.FlagSet that accepts flags after positional arguments
// too ("xgate backup OUT -c FILE").
type flagSet struct {
	*flag.FlagSet
}

func newFlagSet(cmd *command, out io.Writer) *flagSet {
	fs := &flagSet{flag.NewFlagSet(cmd.name, flag.ContinueOnError)}
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: xgate %s %s\n\n%s.\n", cmd.name, cmd.args, capitalize(cmd.summary))
		has := false
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args and returns the positional arguments. Everything after
// "--" is positional.
func (fs *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// configFlag declares -c and --config.
func configFlag(fs *flagSet) *string {
	p := new(string)
	fs.StringVar(p, "c", defaultConfigPath, "configuration `FILE`")
	fs.StringVar(p, "config", defaultConfigPath, "same as -c `FILE`")
	return p
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// loadConfig reads, validates and resolves a configuration file,
// reporting all its problems at once.
func (c *cli) loadConfig(path string) (*config, error) {
	return loadConfigFile(path, c.kinds)
}

func (c *cli) runCommand(fs *flagSet) func([]string) int {
	path := configFlag(fs)
	return func(args []string) int {
		if len(args) > 0 {
			return c.usageError(fs, "unexpected argument %q", args[0])
		}
		cfg, err := c.loadConfig(*path)
		if err != nil {
			return c.fail(err)
		}
		log := newLogger(c.stderr, cfg.logLevel, cfg.logJSON)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		// After the first signal, a second one kills the process at once.
		context.AfterFunc(ctx, stop)
		log.Info("xgate starting", "version", versionString(), "config", cfg.file)
		if cfg.adaptiveProcs {
			pctx, stopProcs := context.WithCancel(ctx)
			var procsDone sync.WaitGroup
			procsDone.Go(func() { procs.Run(pctx, procs.Config{}, log.With("component", "procs")) })
			defer func() { stopProcs(); procsDone.Wait() }()
		}
		if err := serve(ctx, cfg, log, versionString(), c.ready); err != nil {
			return c.fail(err)
		}
		log.Info("xgate stopped")
		return exitOK
	}
}

func (c *cli) checkConfigCommand(fs *flagSet) func([]string) int {
	path := configFlag(fs)
	return func(args []string) int {
		if len(args) > 0 {
			return c.usageError(fs, "unexpected argument %q", args[0])
		}
		cfg, err := c.loadConfig(*path)
		if err != nil {
			return c.fail(err)
		}
		c.describe(cfg)
		return exitOK
	}
}

// describe prints a valid configuration's summary for check-config.
func (c *cli) describe(cfg *config) {
	var names []string
	for _, inst := range cfg.instances {
		names = append(names, inst.Name+": "+inst.component.Domain)
	}
	plural := "s"
	if len(cfg.instances) == 1 {
		plural = ""
	}
	w := c.stdout
	if len(names) > 0 {
		fmt.Fprintf(w, "config OK: %d transport%s (%s)\n", len(names), plural, strings.Join(names, ", "))
	} else {
		fmt.Fprintf(w, "config OK: 0 transports\n")
	}
	format := "text"
	if cfg.logJSON {
		format = "json"
	}
	fmt.Fprintf(w, "  log: %s, %s\n", strings.ToLower(cfg.logLevel.String()), format)
	keySrc := "file " + cfg.keyFile
	if cfg.keyEnv != "" {
		keySrc = "env " + cfg.keyEnv
	}
	fmt.Fprintf(w, "  store: %s, key: set (from %s), message retention %s\n", cfg.storePath, keySrc, cfg.retention)
	token := "POST /backup disabled (no token)"
	switch f := cfg.adminTokenFrom; {
	case f.File != "":
		token = "token: set (from file " + f.File + ")"
	case f.Env != "":
		token = "token: set (from env " + f.Env + ")"
	case f.Inline != "":
		token = "token: set (from the config file)"
	}
	if cfg.adminListen != "" {
		fmt.Fprintf(w, "  admin: http://%s, %s, backups in %s (newest %d kept)\n", cfg.adminListen, token, cfg.backupDir, cfg.backupKeep)
	} else {
		fmt.Fprintf(w, "  admin: endpoint disabled, backups in %s (newest %d kept)\n", cfg.backupDir, cfg.backupKeep)
	}
	fmt.Fprintf(w, "  admins: %s\n", listOrNone(cfg.admins))
	for _, inst := range cfg.instances {
		fmt.Fprintf(w, "  %s: %s transport, domain %s, server %s, secret: set (from %s), delivery timeout %s, allow: %s\n",
			inst.Name, inst.network, inst.component.Domain, inst.component.Addr, inst.secretSource, inst.deliveryTimeout, listOrNone(inst.allow))
	}
	for _, warn := range cfg.warnings {
		fmt.Fprintf(c.stderr, "warning: %s\n", warn)
	}
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}

func (c *cli) backupCommand(fs *flagSet) func([]string) int {
	path := configFlag(fs)
	db := fs.String("db", "", "database `PATH` (instead of reading it from the configuration)")
	force := fs.Bool("f", false, "overwrite OUT if it exists")
	return func(args []string) int {
		if len(args) != 1 {
			return c.usageError(fs, "need exactly one OUT argument")
		}
		configSet := false
		fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "c" || f.Name == "config" })
		if configSet && *db != "" {
			return c.usageError(fs, "use either -c or --db, not both")
		}
		src, adminURL := *db, ""
		if src == "" {
			cfg, err := readConfig(*path, c.kinds)
			if err != nil {
				return c.fail(fmt.Errorf("%w\n(use --db PATH to name the database file directly)", err))
			}
			src = cfg.storePath
			if cfg.adminListen != "" && !strings.HasSuffix(cfg.adminListen, ":0") {
				adminURL = "http://" + cfg.adminListen + "/backup"
			}
		}
		out := args[0]
		if fi, err := os.Stat(out); err == nil && fi.IsDir() {
			out = filepath.Join(out, "xgate-"+time.Now().UTC().Format("20060102T150405Z")+".db")
		}
		if _, err := os.Lstat(out); err == nil && !*force {
			return c.fail(fmt.Errorf("%s exists; choose another name or pass -f to overwrite it", out))
		}
		if _, err := os.Stat(src); err != nil {
			return c.fail(fmt.Errorf("store %s: %w", src, errors.Unwrap(err)))
		}
		n, err := store.BackupOffline(src, out, 0)
		if errors.Is(err, store.ErrLocked) {
			online := "the admin endpoint's POST /backup (enable [admin] listen and token_file)"
			if adminURL != "" {
				online = "curl -X POST -H \"Authorization: Bearer $TOKEN\" " + adminURL
			}
			return c.fail(fmt.Errorf("the store %s is in use: xgate is probably running. Take an online backup instead: %s, or the \"Backup\" admin command of any gateway", src, online))
		}
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "backup written to %s (%d bytes)\n", out, n)
		return exitOK
	}
}

func (c *cli) genkeyCommand(fs *flagSet) func([]string) int {
	return func(args []string) int {
		if len(args) > 0 {
			return c.usageError(fs, "unexpected argument %q", args[0])
		}
		key, err := store.GenerateKey()
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(c.stdout, key)
		fmt.Fprintln(c.stderr, "# Put this key in the file named by [store] key_file, readable only by xgate ((umask 077; xgate genkey > /etc/xgate/store.key)), or in the variable named by key_env; keep a copy apart from the backups: without it, the credentials in the store and its backups cannot be decrypted.")
		return exitOK
	}
}
