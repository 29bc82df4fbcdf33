// Package faults is xgate's fault suite. Its tests run the real xgate
// binary between a real Prosody and the fake Slack of
// transports/slack/slackfake, hurt it the way production does (SIGKILL
// under traffic, a flood from a stranger, rate-limit and error storms from
// the network) and account for every numbered message with a Ledger: lost,
// duplicated, reordered, bounced to its sender.
//
// The package itself holds only the accounting; the scenarios are its
// tests. `go test ./faults` runs a short form (CI does); flags make it long:
//
//	go test ./faults -run Kill -v -args -faults.kills 12 -faults.messages 6000
//
// docs/reliability.md states what is guaranteed, what XEP-0114 cannot
// guarantee, and the figures these tests measured.
package faults
