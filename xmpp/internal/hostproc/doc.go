// Package hostproc runs a host server process (Prosody, ejabberd) for
// tests. It holds what xmpp/prosodytest and xmpp/ejabberdtest do alike:
// picking free loopback ports (FreePorts), finding the binary and skipping
// or failing a test without it (Find, SkipOrFail), starting the binary and
// reaping it in the background (Start, Process), polling until the server
// logs that it listens and its ports accept connections (WaitReady,
// Listening), reading its log (ReadFrom, Tail, Report), and stopping it:
// a signal, a grace period, then SIGKILL (Halt).
//
// What differs between servers stays with the caller: the command line,
// the log lines that announce a listener, how a port race shows, and whom
// a signal reaches (one process, or a process group).
//
// A Process's methods are safe for concurrent use. Every wait is bounded:
// readiness by its timeout and the caller's context, Halt by its grace
// period followed by SIGKILL. The package does not log; it returns errors
// or fails the test it is given.
package hostproc
