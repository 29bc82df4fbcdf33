// Package prosodytest runs a real Prosody (0.12) for integration tests and
// acts as an XMPP user through it.
//
// # Server
//
// Start writes a configuration into t.TempDir(), creates the requested
// accounts with prosodyctl, runs "prosody -F" as a child process and
// returns once Prosody has logged the activation of its client port, its
// component port (when Options.Components is not empty; Prosody opens it
// only then) and its HTTP port (with Options.Upload), and each accepts a
// connection. Readiness is polled every few milliseconds with a 15 s
// deadline; nothing sleeps for a fixed time. Start takes about 0.1 to
// 0.2 s on an idle machine (prosodyctl adds about 70 ms, users being
// registered in parallel). The server is stopped (SIGTERM, then SIGKILL) when the
// test ends, and a failed test logs the tail of Prosody's log. Processes are
// signalled by PID only; on Linux the kernel also kills Prosody if the test
// binary dies without cleaning up.
//
// When the prosody binary is missing Start skips the test, unless
// XGATE_REQUIRE_PROSODY=1 (as in CI), in which case it fails it; Require
// does the same for tests that need Prosody without Start.
//
// Launch is Start without a test: the same server in a directory the
// caller gives, stopped by the caller, with ErrNotInstalled when prosody
// is missing. xgate demo runs its private server with it, and its scripted
// tour logs in with Connect; so the xgate binary links this package. It
// therefore never imports the testing package: the functions for tests take
// a hostproc.TB, which testing.TB satisfies (internal/archtest checks that
// the binary does not link testing).
//
// Ports are picked by listening on 127.0.0.1:0 and closing the listener, so
// another process may take one before Prosody binds it. Prosody does not exit
// when a port is taken, so Start watches its log for "Failed to open server
// port" and then tries again with new ports, up to three times. Restart
// reuses the same ports and data and cannot pick new ones.
//
// The generated configuration listens on 127.0.0.1 only, runs without TLS
// (c2s_require_encryption = false, allow_unencrypted_plain_auth = true, no
// mod_tls, no certificates needed), has no s2s listener, stores accounts
// hashed in files (internal_hashed, internal storage) and logs at level
// info to prosody.log in the server's directory. Besides Prosody's
// autoloaded modules it enables roster, saslauth, disco, ping, time,
// version, uptime, private, blocklist, carbons and pep. mod_offline stays
// enabled, as on a real server: a message to a user with no session is
// stored and delivered at the next login instead of bounced. To disable it,
// set modules_disabled = { "s2s", "offline" } in Options.ExtraConfig. A MUC
// service creates rooms unlocked; an upload service hands out slot URLs on
// http://127.0.0.1:port/.
//
// # Client
//
// Client is a minimal but real c2s client: stream to the host, SASL PLAIN
// over plain TCP, resource binding and the session request. Dial fails the
// test on error and closes the client when the test ends; Connect returns
// the error (ErrAuthFailed for bad credentials) instead. A client sends no
// initial presence and does not fetch its roster: Prosody sends roster
// pushes only to sessions that called Roster. One goroutine reads the
// stream. Responses to Request are matched by id and handed to the caller;
// roster pushes are acknowledged automatically (and still queued); every
// other stanza goes to an unbounded queue in arrival order. Next takes the oldest queued
// stanza; Expect takes the oldest one that matches and leaves the others
// queued, so nothing is lost by looking for something else first. When
// Expect gives up, its error lists what was waiting. Writes are serialized
// by a mutex and bounded by a write deadline; every wait is bounded by the
// caller's context. When the server ends the stream the client answers
// and closes the connection; Next and Expect then return the queued
// stanzas and after them an error wrapping ErrClosed and the cause (a
// *xmpp.StreamError when the server sent one: on Stop, Prosody 0.12 means
// to send system-shutdown but often closes the connection before flushing
// it).
package prosodytest
