// Package discord is the Discord transport: direct messages between XMPP
// users and Discord users, and Discord's server channels, threads and
// group DMs as groups for the bridge's room side (groups.go,
// grouprecv.go), through github.com/bwmarrin/discordgo.
//
// # Accounts
//
// An instance has a bot (the admin's application, its token in the
// [[discord]] section), personal accounts (a user's own token, when
// personal_accounts is true), or both. A user links their Discord user to
// the bot in two steps (their user ID, then the code the bot sends them),
// and then talks through the bot's DMs: what they send is signed with
// their name, and a person's answers to the bot go to the XMPP user who
// last wrote to them through it. A Discord user is linked to one XMPP
// account at a time, until they write "unlink" to the bot. A personal account is the user
// themselves: their friends and DMs, their presence, their read state, and
// the messages they write in Discord's own apps (FromSelf). Discord's terms
// forbid automating user accounts; the registration form says so.
//
// # Connections and delivery
//
// The bot has one Gateway connection for every bot-linked account, each
// personal account one of its own (conn). Each connection's run goroutine
// opens it, reopens it after a drop (discordgo RESUMEs, and Discord replays
// what the connection missed) and stops for good when Discord refuses the
// token (close code 4004: the account is logged out, the user told, the
// account kept) or the intents (4014: the admin is told what to enable).
// discordgo's own reconnection is off: it would retry those forever.
//
// Events go through the transport's bridge.Fanout, ordered per channel.
// Discord has no acknowledgements: an event stays pending in its
// connection until every session it concerns emitted it, and is
// dispatched again until then. After a new Gateway session (op 9, a
// RESUME Discord refused, or a restart of xgate), each chat an account
// delivered messages in is read from the last one delivered, before the
// new session's events. What must survive a restart (those cursors, the
// bot's answer routing, the links) is kept in a State (state.go), which
// cmd/xgate backs with the store.
//
// # Sending
//
// Request bodies are written here, with only documented fields (discordgo's
// edit body carries undocumented ones that strict servers refuse) and an
// explicit allowed_mentions. Every REST call waits for a token of the
// connection's bucket of Discord's global limit (50 requests a second,
// kit/ratelimit); discordgo's per-route buckets follow X-RateLimit-*, and a
// 429 is returned to the bridge as a bridge.RateLimitError, so that its
// queue waits and keeps the order. Texts over 2,000 characters are split
// with kit/split. Our own messages carry a nonce, which recognizes their
// echo on the Gateway however early it comes. The files of XEP-0066 links
// are fetched with kit/attach and uploaded with the message (files.go).
//
// Conversions (convert.go) are pure functions: Discord markdown ↔ XEP-0393
// with kit/styling, and Discord's <@id>, <#id>, <:name:id> and <t:…>
// tokens ↔ readable text with XEP-0372 references.
//
// IDs are described in id.go; docs/discord.md is the admin's guide.
package discord
