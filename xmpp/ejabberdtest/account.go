package ejabberdtest

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// installUser is the Unix user the Debian package runs ejabberd as; its
// ejabberdctl refuses every other user except root.
const installUser = "ejabberd"

// account is the Unix user ejabberd runs as when the test runs as root.
type account struct {
	uid, gid uint32
	groups   []uint32
}

// runAs decides who runs ejabberdctl. As root: the ejabberd user, with
// privileges dropped by Start itself (ejabberdctl would otherwise switch
// with su, and Erlang refuses nothing to root, which a real deployment
// never is). As the ejabberd user: itself (nil). Any other user cannot run
// the Debian ejabberdctl: errUnsupportedUser.
func runAs() (*account, error) {
	if os.Geteuid() != 0 {
		if u, err := user.Current(); err == nil && u.Username == installUser {
			return nil, nil
		}
		return nil, errUnsupportedUser
	}
	u, err := user.Lookup(installUser)
	if err != nil {
		return nil, fmt.Errorf("ejabberdtest: look up user %s: %w", installUser, err)
	}
	a := &account{}
	if a.uid, err = parseID(u.Uid); err != nil {
		return nil, err
	}
	if a.gid, err = parseID(u.Gid); err != nil {
		return nil, err
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("ejabberdtest: groups of %s: %w", installUser, err)
	}
	for _, g := range gids {
		id, err := parseID(g)
		if err != nil {
			return nil, err
		}
		a.groups = append(a.groups, id)
	}
	return a, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("ejabberdtest: numeric user or group id %q: %w", s, err)
	}
	return uint32(n), nil
}

// handOver gives dir and everything in it to a and makes sure a can reach
// dir: the directory of t.TempDir's tree above it (private to the test,
// mode 0700) becomes searchable but not listable by others (0711); any
// other ancestor a cannot search is an error naming it.
func handOver(dir string, a *account) error {
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(a.uid), int(a.gid))
	})
	if err != nil {
		return fmt.Errorf("ejabberdtest: give %s to %s: %w", dir, installUser, err)
	}
	parent := filepath.Dir(dir)
	if fi, err := os.Stat(parent); err == nil && fi.Mode().Perm()&0o001 == 0 {
		if err := os.Chmod(parent, fi.Mode().Perm()|0o111); err != nil {
			return fmt.Errorf("ejabberdtest: let %s reach %s: %w", installUser, dir, err)
		}
	}
	for p := parent; ; p = filepath.Dir(p) {
		if !searchable(p, a) {
			return fmt.Errorf("ejabberdtest: user %s cannot reach %s: %s is not searchable (set TMPDIR elsewhere)", installUser, dir, p)
		}
		if next := filepath.Dir(p); next == p {
			return nil
		}
	}
}
