// Package ejabberdtest runs a real ejabberd (23.01, as packaged by Debian)
// for integration tests, so that what runs against Prosody with
// xmpp/prosodytest also runs against the other common host server. Clients
// log in through it with prosodytest.Client, which works unchanged.
//
// # Server
//
// Start writes a configuration into t.TempDir() and runs
// "ejabberdctl ... foreground-quiet" as a child process, every path
// absolute (ejabberdctl fails on relative ones). It returns once ejabberd
// has logged that it accepts connections on its client port and its
// component port (when Options.Components is not empty; the listener is
// declared only then) and each accepts a connection, after registering
// Options.Users in-band (XEP-0077) over one client stream. Readiness is
// polled every few milliseconds with a 60 s deadline; nothing sleeps for a
// fixed time. ejabberd needs about 1.3 s of CPU to start: Start takes
// about 1.5 s on an idle 2-core machine, several times that when the
// machine is busy. Kill and Restart keep the ports, the Erlang node name
// and the Mnesia database, so accounts, rosters and offline messages
// survive them.
//
// When ejabberdctl is missing Start skips the test, unless
// XGATE_REQUIRE_EJABBERD=1 (as in CI), in which case it fails it. The same
// holds on platforms other than Linux, and for users other than root and
// ejabberd: Debian's ejabberdctl refuses them.
//
// # Processes
//
// As root, Start runs ejabberdctl as the ejabberd user (credentials set at
// fork, as "setpriv --reuid=ejabberd --regid=ejabberd --init-groups" would)
// and hands it the temporary directory (chown; the test's own directory
// above it becomes searchable, mode 0711). Running ejabberdctl as root
// would make it switch with su, whose children a test cannot signal.
//
// ejabberdctl is a shell script that runs the Erlang node (beam.smp) as
// its child; the node runs erl_child_setup in a session of its own, which
// runs the port programs (memsup, cpu_sup). Start puts ejabberdctl in a
// new process group and signals that group by its id, never processes by
// name: Stop sends SIGTERM (the node shuts down cleanly, SIGKILL after
// 10 s), Kill sends SIGKILL. Both wait until every process that holds
// the console output pipe has exited, which includes erl_child_setup and
// the port programs: they exit when the node does. If the test binary
// dies without running its cleanups, the kernel kills ejabberdctl
// (parent-death signal) and the node halts by itself: its standard input
// is a pipe whose only writer is the test process, and a watchdog started
// with the node (-eval in an args file) halts it at end of file.
//
// No epmd is started: ejabberdctl.cfg sets ERL_DIST_PORT, so the node
// listens for Erlang distribution on a third random port, on 127.0.0.1
// only (inet_dist_use_interface), with a node name and cookie unique to
// the server. "ejabberdctl --config-dir DIR --ctl-config DIR/ejabberdctl.cfg
// ... registered_users localhost" works against it while debugging. Host
// names resolve from an inetrc file (localhost only), so there is no
// resolver process and no DNS.
//
// Ports are picked by listening on 127.0.0.1:0 and closing the listener,
// so another process may take one before ejabberd binds it. ejabberd then
// exits (eaddrinuse) and Start tries again with new ports, up to three
// times. Restart reuses the same ports and cannot pick new ones.
//
// # Configuration
//
// The generated ejabberd.yml listens on 127.0.0.1 only, runs without TLS
// (starttls: false; SASL PLAIN is offered on the plain stream), has no
// s2s (s2s_access: none), lifts the traffic shapers (shaper: none on both
// listeners; the stock
// configuration throttles clients to 1000 B/s), stores everything in
// Mnesia under the spool directory and logs at level info to
// logs/ejabberd.log. It loads mod_blocking, mod_carboncopy, mod_disco,
// mod_offline, mod_ping, mod_privacy, mod_private, mod_register,
// mod_roster and mod_version. mod_offline stores messages (up to 100,000)
// for users without an available session and delivers them at their next
// login, as on a real server. In-band registration is open to everyone
// with no rate limit (registration_timeout: infinity).
//
// ejabberd's stream ids are decimal numbers, Prosody's UUIDs: code under
// test must treat them as opaque text.
package ejabberdtest
