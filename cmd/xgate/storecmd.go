package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/store"
)

// storeSubcommands is what `xgate store` does, for its usage message.
const storeSubcommands = `check    checks the store page by page, then its records (exit 0 sound, 1 not)
  salvage  copies what is still readable of a damaged store into a new file NEW
           (the result opens and verifies; install it in place of the store)
Stop xgate first: both need the store's lock.`

// storeCommand runs `xgate store check` and `xgate store salvage`. Both
// take the store from -c (its [store] path and key) or from --db.
func (c *cli) storeCommand(fs *flagSet) func([]string) int {
	cfgPath := configFlag(fs)
	db := fs.String("db", "", "store `PATH` (instead of reading it from the configuration)")
	out := fs.String("out", "", "salvage: the new store file `NEW` to write (must not exist)")
	return func(args []string) int {
		if len(args) != 1 || args[0] != "check" && args[0] != "salvage" {
			return c.usageError(fs, "need one of: check, salvage\n  %s", storeSubcommands)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if (set["c"] || set["config"]) && *db != "" {
			return c.usageError(fs, "use either -c or --db, not both")
		}
		switch {
		case args[0] == "check" && *out != "":
			return c.usageError(fs, "-out is for salvage")
		case args[0] == "salvage" && *out == "":
			return c.usageError(fs, "salvage needs -out NEW")
		}
		path, key, backupDir, err := c.storeTarget(*cfgPath, *db)
		if err != nil {
			return c.fail(err)
		}
		if args[0] == "check" {
			return c.storeCheck(path, key, backupDir)
		}
		return c.storeSalvage(path, *out, key)
	}
}

// storeTarget returns the store to work on, its key (nil when it cannot be
// loaded: secrets are then not checked, with a note on stderr) and its
// backup directory.
func (c *cli) storeTarget(cfgPath, db string) (path string, key *store.Key, backupDir string, err error) {
	if db != "" {
		fmt.Fprintf(c.stderr, "note: no configuration, so no key: secrets are not decrypted (use -c FILE to check them)\n")
		return db, nil, "", nil
	}
	cfg, err := readConfig(cfgPath, c.kinds)
	if err != nil {
		return "", nil, "", fmt.Errorf("%w\n(use --db PATH to name the store directly)", err)
	}
	key, err = store.LoadKey(cfg.keyFile, cfg.keyEnv)
	if err != nil {
		fmt.Fprintf(c.stderr, "note: the store key could not be loaded (%v): secrets are not decrypted\n", err)
		key = nil
	}
	return cfg.storePath, key, cfg.backupDir, nil
}

// storeInUse explains a store that another process holds.
func storeInUse(path string) error {
	return fmt.Errorf("the store %s is in use: xgate is probably running. Stop it first, or check a backup instead (xgate store check --db BACKUP)", path)
}

func (c *cli) storeCheck(path string, key *store.Key, backupDir string) int {
	r, err := store.CheckFile(path, store.CheckOptions{Key: key, BackupDir: backupDir})
	if errors.Is(err, store.ErrLocked) {
		return c.fail(storeInUse(path))
	}
	if err != nil {
		return c.fail(err)
	}
	w := c.stdout
	fmt.Fprintf(w, "store %s: %d bytes", r.Path, r.FileBytes)
	if r.PageSize > 0 {
		fmt.Fprintf(w, ", %d pages of %d bytes, %d free", r.Pages, r.PageSize, r.FreePages)
	}
	if r.Schema > 0 {
		fmt.Fprintf(w, ", schema version %d", r.Schema)
	}
	fmt.Fprintln(w)
	if len(r.Buckets) > 0 {
		parts := make([]string, len(r.Buckets))
		for i, b := range r.Buckets {
			parts[i] = fmt.Sprintf("%s %d", b.Name, b.Keys)
		}
		fmt.Fprintf(w, "  keys read: %s\n", strings.Join(parts, ", "))
	}
	if !r.SecretsChecked {
		fmt.Fprintf(w, "  secrets: not decrypted (no key)\n")
	}
	if r.OK() {
		fmt.Fprintf(w, "OK: no problem found\n")
		return exitOK
	}
	fmt.Fprintf(w, "DAMAGED: %d problem(s)\n", len(r.Problems)+r.MoreProblems)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	if r.MoreProblems > 0 {
		fmt.Fprintf(w, "  - and %d more\n", r.MoreProblems)
	}
	fmt.Fprintf(w, "%v: %s\n", store.ErrDamaged, r.Hint)
	return exitFailure
}

func (c *cli) storeSalvage(src, dst string, key *store.Key) int {
	r, err := store.Salvage(src, dst, store.SalvageOptions{Key: key})
	if errors.Is(err, store.ErrLocked) {
		return c.fail(storeInUse(src))
	}
	if err != nil {
		return c.fail(err)
	}
	w := c.stdout
	parts := make([]string, len(r.Buckets))
	for i, b := range r.Buckets {
		parts[i] = fmt.Sprintf("%s %d", b.Name, b.Keys)
	}
	fmt.Fprintf(w, "salvaged %s into %s\n  keys copied: %s\n", src, dst, strings.Join(parts, ", "))
	list := func(title string, items []string, more int) {
		if len(items) == 0 {
			fmt.Fprintf(w, "%s: none\n", title)
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(items)+more)
		for _, it := range items {
			fmt.Fprintf(w, "  - %s\n", it)
		}
		if more > 0 {
			fmt.Fprintf(w, "  - and %d more\n", more)
		}
	}
	list("could not be read", r.Lost, r.MoreLost)
	list("repaired", r.Repaired, r.MoreRepaired)
	if r.NeedsMigration {
		fmt.Fprintf(w, "Its schema version was lost and no store key was given, so the migrations are still to be applied: xgate applies them when it opens the file, and until then `xgate store check` reports that it needs migration.\n")
	}
	fmt.Fprintf(w, "Check it with `xgate store check --db %s`, then stop xgate, keep the damaged file aside and move %s in its place.\n", dst, dst)
	return exitOK
}
