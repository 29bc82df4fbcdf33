package ejabberdtest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// syncTimeout bounds one run of the flushing node.
const syncTimeout = 15 * time.Second

// erlBinary returns the Erlang runtime that ejabberdctl uses.
func erlBinary() string {
	if p, err := exec.LookPath("erl"); err == nil {
		return p
	}
	return "/usr/bin/erl"
}

// syncExpr is the Erlang program of the flushing node: it connects to the
// server node N and makes it write out what Mnesia holds in memory, the
// transaction log (disc_copies tables) and the DETS files
// (disc_only_copies tables: accounts, rosters, offline messages), whose
// writes are otherwise delayed by a few seconds.
const syncExpr = `case net_kernel:connect_node(N) of true -> ok; _ -> io:format("cannot reach ~p~n", [N]), halt(2) end,
ok = rpc:call(N, mnesia, sync_log, []),
Tabs = [T || T <- rpc:call(N, mnesia, system_info, [tables]),
             rpc:call(N, mnesia, table_info, [T, storage_type]) =:= disc_only_copies],
Bad = [{T, R} || T <- Tabs, (R = rpc:call(N, dets, sync, [T])) =/= ok],
case Bad of [] -> halt(0); _ -> io:format("dets:sync failed: ~p~n", [Bad]), halt(1) end.`

// syncStorage writes ejabberd's database out to its files, so that data
// committed before Kill survives it. ejabberdctl has no command for this;
// a hidden Erlang node (about 0.2 s to start) reaches the server through
// its distribution port with its cookie, without epmd.
func (s *Server) syncStorage(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, erlBinary(),
		"-sname", "xgate-sync-"+randomHex(4)+"@localhost", "-hidden", "-noshell", "-noinput",
		"-setcookie", s.node.cookie,
		"-erl_epmd_port", strconv.Itoa(s.ports.dist), "-start_epmd", "false", "-dist_listen", "false",
		"-eval", "N = '"+s.node.name+"', "+syncExpr)
	cmd.Dir = s.paths.dir
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + s.paths.dir,
		"LANG=C.UTF-8",
		"ERL_INETRC=" + s.paths.inetrc,
	}
	cmd.SysProcAttr = sysProcAttr(s.as)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ejabberdtest: flush the database before Kill: %w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
