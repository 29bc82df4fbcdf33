// Package ejabberdtest runs a real ejabberd (23.01, as packaged by Debian)
// for integration tests, so that what runs against Prosody with
// xmpp/prosodytest also runs against the other common host server. Clients
// log in through it with prosodytest.Client (Dial, Connect), which works
// against ejabberd unchanged.
//
// # Server
//
// Start writes a configuration into t.TempDir() and runs
// "ejabberdctl ... foreground-quiet" (foreground, with only critical
// messages on the console) as a child process, every path absolute:
// ejabberdctl fails on relative ones. It returns once ejabberd has logged
// that it accepts connections on its client port and its component port
// (when Options.Components is not empty; the listener is declared only
// then) and each accepts a connection, after registering Options.Users
// in-band (XEP-0077) over one client stream, which takes milliseconds
// where "ejabberdctl register" would start an Erlang node per account.
// Readiness is polled every few milliseconds with a 60 s deadline; nothing
// sleeps for a fixed time.
//
// Start takes 0.8 to 1 s on a busy 2-core machine (ejabberd's own start
// is about 0.5 s of it; the first client connection, which registers the
// users, adds about 80 ms of code loading). ejabberd's first start builds
// a cache of its translations (about 0.1 s); Start gives the cache built
// by the first server of the test process to the next ones.
//
// The server is killed when the test ends, and a failed test logs the tail
// of ejabberd's log and console. Stop, a clean shutdown, takes about a
// second: the Erlang node stops slowly after ejabberd has. Restart keeps
// the ports, the Erlang node name and the Mnesia database, so accounts,
// rosters and offline messages survive Stop and Kill.
//
// Kill is a crash (SIGKILL), except for one thing: Mnesia delays writes by
// a few seconds (its transaction log, and the DETS files that hold
// accounts, rosters and offline messages), so a real crash loses what was
// committed just before it. Kill first makes the node write everything
// out, through a hidden Erlang node that reaches it over distribution
// (about 0.2 s); tests can rely on what they set up before Kill.
//
// When ejabberdctl is missing Start skips the test, unless
// XGATE_REQUIRE_EJABBERD=1 (as in CI), in which case it fails it. The same
// holds on platforms other than Linux, and for users other than root and
// ejabberd, whom Debian's ejabberdctl refuses.
//
// # Processes
//
// As root, Start runs ejabberdctl as the ejabberd user (credentials set at
// fork, as "setpriv --reuid=ejabberd --regid=ejabberd --init-groups" would)
// and gives it the temporary directory (chown; the test's own directory
// above it becomes searchable by others, mode 0711). ejabberdctl run as
// root would switch users with su itself.
//
// ejabberdctl is a shell script; it runs the Erlang node (beam.smp) as its
// child, which runs erl_child_setup in a session of its own, which runs
// the port programs (memsup, eimp, inet_gethost). Start puts ejabberdctl in
// a new process group and signals that group by its id, never processes by
// name: Stop sends SIGTERM (the node shuts down cleanly; SIGKILL after
// 10 s), Kill sends SIGKILL. Both wait until every process that holds the
// console output pipe has closed it, which includes erl_child_setup and
// the port programs, which exit when the node does. If the test binary
// dies without running its cleanups, the kernel kills ejabberdctl (its
// parent-death signal) and the node halts by itself: its standard input is
// a pipe whose only writer is the test process, and a watchdog started
// with the node (an -eval in an args file) halts it at end of file.
//
// No epmd runs: ejabberdctl.cfg sets ERL_DIST_PORT, so the node listens for
// Erlang distribution on a third random port, on 127.0.0.1 only
// (inet_dist_use_interface), with a node name and a cookie unique to the
// server. While debugging, "ejabberdctl --config-dir DIR --ctl-config
// DIR/ejabberdctl.cfg registered_users localhost" works against it. Host
// names resolve from a private inetrc (localhost only), not from DNS.
//
// Ports are picked by listening on 127.0.0.1:0 and closing the listener,
// so another process may take one before ejabberd binds it. ejabberd then
// exits (eaddrinuse) and Start tries again with new ports, up to three
// times. Restart reuses the same ports and fails if one is taken.
//
// # Configuration
//
// The generated ejabberd.yml listens on 127.0.0.1 only and runs without
// TLS (starttls: false; SASL PLAIN is offered on the plain stream). It has
// no s2s (s2s_access: none), lifts the traffic shapers (shaper: none on
// both listeners; the stock configuration throttles clients to 1000 B/s)
// and raises the listen backlog from 5 to 1024. It stores everything in
// Mnesia in the spool directory and logs at level info to
// logs/ejabberd.log. It loads mod_blocking, mod_carboncopy, mod_disco,
// mod_offline, mod_ping, mod_privacy, mod_private, mod_register,
// mod_roster and mod_version: mod_offline stores messages (up to 100,000)
// for users without an available session and delivers them when they
// next send presence, as on a real server; in-band registration is open
// to everyone without rate limit (registration_timeout: infinity).
//
// ejabberd's stream ids are decimal numbers, Prosody's UUIDs: code under
// test must treat them as opaque text.
package ejabberdtest
