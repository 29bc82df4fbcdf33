// Package slack is the Slack transport of xgate: XMPP users reach the
// members of their Slack workspaces as contacts, with direct messages both
// ways, presence and status, edits, deletions and reactions. It is built on
// github.com/slack-go/slack and tested against slackfake, a fake Slack that
// speaks the real Web API and Socket Mode.
//
// # Accounts
//
// The administrator configures one Slack app per transport instance
// (Config): its app-level token (xapp-) opens the one Socket Mode
// connection that receives the events of every account, and its bot token
// (xoxb-, optional) identifies the app's bot. Each XMPP user registers
// their own user token (xoxp-) of that app, once per workspace; each
// registration is one account, "<TEAM>.<USER>" (see id.go). Register and
// Login check the token with auth.test. A token refused at any time
// (invalid_auth, token_revoked, account_inactive, tokens_revoked or
// app_uninstalled events) logs the account out with a
// bridge.LoginStateEvent; the bridge tells the user and keeps the account.
//
// # Events
//
// Run holds the Socket Mode connection; the router (router.go) hands each
// envelope to the sessions it concerns, in order per conversation, and
// acknowledges it only once every one of them emitted its events and the
// bridge's Sink returned nil. What fails is not acknowledged, so Slack sends
// it again; redelivered envelopes are recognized by their event_id. Events
// the bridge has no counterpart for become bridge.UnknownEvent.
//
// Messages the user sends from XMPP come back from Slack as events; they
// are recognized (their conversation's lock is held while the request is in
// flight, and the resulting timestamps are remembered) and not reflected.
// Messages the user writes in the official Slack apps are reflected with
// FromSelf.
//
// # Formatting
//
// convert.go turns Slack mrkdwn into XEP-0393 styling and back, with
// mentions, channel links, links and emoji shortcodes (emoji.go); the
// directory of a workspace (directory.go) resolves IDs and names for it,
// filled from users.info, users.list and events.
//
// # Limits
//
// chat.postMessage goes through a per-conversation limiter (post_rate,
// post_burst); Slack's HTTP 429 becomes a *bridge.RateLimitError with its
// Retry-After, and the bridge keeps the message queued and retries.
// Presence is polled (Slack pushes it only over RTM, which apps cannot
// use) at a bounded rate for the contacts that matter; see presence.go.
// Typing notifications are not bridged: Socket Mode carries no typing
// events and the Web API cannot send them.
//
// # Concurrency
//
// Transport, Session and the router are safe for concurrent use. Run owns
// the Socket Mode connection (read directly with gorilla/websocket, one
// writer goroutine per connection) and the router's workers and waits for
// them; each Session owns its presence rounds (timers, no goroutine while
// idle), stopped and waited for by Close.
package slack
