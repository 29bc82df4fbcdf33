package ejabberdtest

import (
	"os"
	"slices"
	"syscall"
)

// supported reports whether this platform can run the server.
const supported = true

// sysProcAttr puts ejabberdctl and everything it starts in a new process
// group (so Kill and Stop reach the Erlang node too), makes the kernel kill
// ejabberdctl if the test binary dies without cleaning up (the node itself
// then halts through the watchdog pipe), and runs it as the user as when
// it is not nil.
func sysProcAttr(as *account) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if as != nil {
		a.Credential = &syscall.Credential{Uid: as.uid, Gid: as.gid, Groups: as.groups}
	}
	return a
}

// signalGroup sends sig to every process of the group pgid. The group's id
// is ejabberdctl's PID (sysProcAttr makes it the group's leader). Linux
// does not reuse it while any member of the group lives, even after
// ejabberdctl is reaped.
func signalGroup(pgid int, sig syscall.Signal) error { return syscall.Kill(-pgid, sig) }

// searchable reports whether a may search (traverse) the directory p.
func searchable(p string, a *account) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode().Perm()
	switch {
	case !ok:
		return true // cannot tell; ejabberdctl will say
	case st.Uid == a.uid:
		return mode&0o100 != 0
	case st.Gid == a.gid || slices.Contains(a.groups, st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}
