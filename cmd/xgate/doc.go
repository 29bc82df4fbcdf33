// Command xgate is an XMPP gateway to Slack, Discord and SMS. It attaches
// to a host XMPP server (Prosody, ejabberd, Openfire) as one XEP-0114
// component per configured transport instance ("slack.example.org",
// "sms.example.org", ...) and lets the server's users reach those networks
// from any XMPP client.
//
// # Commands
//
//	xgate run [-c FILE]             run the gateways until SIGINT or SIGTERM
//	xgate check-config [-c FILE]    validate the configuration, connect nowhere
//	xgate backup [-c FILE | --db PATH] [-f] OUT
//	                                copy the store of a stopped xgate
//	xgate genkey                    print a new store encryption key
//	xgate version                   print the version
//	xgate demo [--script] [-server ADDR] [-user JID] [-playground ADDR]
//	                                the gateways against fake Slack, Discord and SMS
//
// # Demo
//
// demo runs the real gateways (transports, bridge, store, config path)
// against slackfake, discordfake and smsfake, whose people answer, with the
// demo user registered on each (demo.go, demo_discord.go, demo_sms.go).
// Without -server it starts a private Prosody on loopback
// (xmpp/prosodytest.Launch) with the three components, a MUC service and
// the demo user, prints how to connect any client, and stops it at exit;
// with -server the host server must declare the three components (-domain,
// -discord-domain, -sms-domain, all with -secret). It serves the playground page (internal/playground) on
// a loopback port. --script runs a scripted tour with a built-in client and
// exits with its result.
//
// The configuration is one TOML file (default /etc/xgate/config.toml);
// config.example.toml at the root of the repository documents every option.
// Unknown keys and wrong types are errors reported with line and column;
// semantic checks report every problem at once, each with its key path.
// Relative paths in the file are relative to the file's directory.
//
// # Running
//
// run opens the store (one bbolt file, its credentials encrypted with the
// store key), builds one bridge.Gateway per [[slack]], [[discord]] or
// [[sms]] table and runs them concurrently. If the host server refuses a
// component secret, or a gateway otherwise fails for good, the others are
// stopped gracefully and xgate exits with status 1 and a one-line reason.
// On SIGINT or SIGTERM every gateway stops, saving what it could not
// deliver to the store, the store is closed and xgate exits with status 0;
// a second signal kills it at once.
//
// # Admin endpoint
//
// When [admin] listen is set, an HTTP listener (loopback only unless
// allow_remote is set; it has no authentication) serves:
//
//	GET  /healthz   JSON health; 200 when every component is connected and
//	                its send queue not full, else 503
//	GET  /metrics   Prometheus text format: components, bridges, store, process
//	POST /backup    online backup of the store into [admin] backup_dir
//
// The same online backup is offered to admins as an ad-hoc command of every
// gateway.
//
// # Wiring
//
// This package is the only one that knows every concrete type. Transports
// are listed in one explicit table, transportKinds; see transportKind for
// how a transport's own options join the configuration file.
package main
