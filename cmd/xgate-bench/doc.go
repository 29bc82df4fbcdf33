// Command xgate-bench measures what operators pay for xgate: it builds
// cmd/xgate, runs it as its own process with a generated configuration
// against the fake Slack (transports/slack/slackfake) in another process,
// through a real Prosody started on loopback, with load clients in the
// bench's own process, and reports per direction and scenario the xgate
// process's CPU per message, its allocations per message, its RSS, the
// latency (p50, p99, max), and the floor measured in the same run: a
// standard-library echo component through the same Prosody (and, for the
// XMPP→network direction, that echo plus one keep-alive HTTP POST per
// message to the same fake). docs/performance.md explains the figures.
//
// Usage:
//
//	go build -o /tmp/xgate-bench ./cmd/xgate-bench
//	/tmp/xgate-bench run -scenarios 1u1c,1u8c,1k,10k,startup -runs 3 -n 5000
//
// With -network discord it drives the Discord transport instead: the fake
// Discord (transports/discord/discordfake) runs in the child process, each
// XMPP user has a personal account whose partners are friends with an open
// DM, and the directions are discord-to-xmpp and xmpp-to-discord; the
// floor's POST is one Discord REST call. See network.go.
//
// Subcommands "fake-slack", "fake-discord" and "echo" are the bench's own
// child processes.
//
// xgate is built with one extra file added through `go build -overlay`
// (overlay/benchhook.go.txt; xgate's sources are not touched): when the
// environment variable XGATE_BENCH_HOOK is set it serves net/http/pprof and
// the Go runtime's cumulative allocation counters on a loopback port, which
// the bench reads before and after each window.
//
// The exit code is 3 when prosody is not installed.
package main
