// Package slackfake is a fake Slack that speaks Slack's real wire
// protocols, so that a real client (github.com/slack-go/slack and its
// socketmode package) can be exercised end to end without an account or a
// network: by the Slack transport's tests, by the `xgate demo` playground
// and by benchmarks.
//
// # Running it
//
// New starts a Server on its own 127.0.0.1 port; Close stops it, its sockets
// and its goroutines. Point a client at it with
//
//	api := slack.New(botToken,
//		slack.OptionAPIURL(fake.APIURL()),           // "http://127.0.0.1:PORT/api/"
//		slack.OptionAppLevelToken(fake.AppToken()))  // for Socket Mode
//	sm := socketmode.New(api)
//
// The server serves, on one port:
//
//	/api/METHOD          the Web API (form, multipart or JSON bodies; GET queries)
//	/link/?ticket=…      Socket Mode WebSockets, as returned by apps.connections.open
//	/upload/v1/FILE      upload URLs of files.getUploadURLExternal
//	/files-pri/T-F/NAME  url_private of files (needs a token of the team)
//	/avatars/ID/N.png    generated avatars (profile image_24 … image_512)
//
// Every Server is independent: there is no global state, and all methods are
// safe for concurrent use. One mutex guards the whole state; Web API calls
// run under it, so each call is atomic.
//
// # Determinism
//
// IDs come from per-kind counters ("T000000001", "U000000002",
// "C000000001", "D…", "G…", "B…", "F…", "Ev…", "A000000001"), tokens and
// envelope IDs likewise, so the same sequence of calls yields the same IDs.
// Message timestamps ("1700000000.000100") are unique and strictly
// increasing across the server; they follow the clock (time.Now unless
// WithClock), so a frozen clock makes whole runs reproducible.
//
// # The API of the fake
//
// Setup methods build the world silently, without events: CreateTeam,
// CreateUser, CreateChannel, OpenIM, OpenMPIM, InstallApp (the bot and its
// xoxb- token), AppToken (xapp-), IssueUserToken (xoxp-, posting with it
// posts as the user), SetTokenState, AddEmoji.
//
// Act methods do what a person in a Slack client does, and send the app the
// events Slack would: Post (WithThread, WithBroadcast, WithBlocks), Edit,
// Delete, React, Unreact, Join, UserJoinTeam, CreateChannelAs, SetStatus,
// UpdateProfile, DeactivateUser, SetPresence. Setup and act methods panic
// on unknown IDs and on what Slack would refuse (posting where the user is
// not a member): those are mistakes in the calling test.
//
// Inspection: Messages, WaitMessage and WaitUntil (woken by every change;
// they never poll or sleep), CallCount, UnknownMethods, Acked, Pending,
// Delivered, Connections, User, Channel, File.
//
// Faults: RateLimit (HTTP 429, Retry-After in whole seconds, body
// {"ok":false,"error":"ratelimited"}), FailNext (any error code),
// Disconnect (a Socket Mode disconnect message: "refresh_requested",
// "warning", "link_disabled"), DropSockets (abrupt close), SetAckTimeout.
//
// # Web API
//
// Answers are HTTP 200 with {"ok":true,…} or {"ok":false,"error":"…"},
// except rate limits. The token comes from "Authorization: Bearer" or, for
// form and query requests, the "token" argument (not from JSON bodies, like
// Slack). Token errors: not_authed, invalid_auth, token_revoked,
// account_inactive (also for deactivated users), not_allowed_token_type
// (xapp- tokens outside apps.*, others inside). Bad bodies: invalid_json,
// json_not_object, invalid_form_data. Unimplemented methods answer
// unknown_method and are counted (see UnknownMethods). The implemented
// methods (see Methods) and their checked errors:
//
//   - auth.test, team.info (team_not_found), bots.info (bot_not_found),
//     emoji.list
//   - users.list (limit, cursor), users.info (user_not_found),
//     users.getPresence, users.setPresence (invalid_presence),
//     users.profile.get, users.profile.set (user tokens only; profile JSON or
//     name/value; status text without emoji gets ":speech_balloon:";
//     invalid_profile, not_admin, cannot_update_admin_user, too_long,
//     invalid_emoji)
//   - conversations.list (types, exclude_archived, limit, cursor;
//     invalid_types), conversations.info, conversations.members,
//     conversations.open (users or channel, return_im, no_op/already_open;
//     users_list_not_supplied, user_disabled, too_many_users),
//     conversations.history and conversations.replies (oldest, latest,
//     inclusive, limit, cursor, include_all_metadata; thread_not_found, invalid_ts_oldest,
//     invalid_ts_latest), conversations.mark, conversations.join (public
//     channels; already_in_channel warning, a channel_join message,
//     method_not_supported_for_channel_type, is_archived)
//   - chat.postMessage (channel ID, name or user ID; text, blocks,
//     attachments stored as given; thread_ts, reply_broadcast; username,
//     icon_url, icon_emoji for bot tokens; metadata, returned by the history
//     methods with include_all_metadata and not in events; unfurl and
//     markup flags ignored; no_text, msg_too_long, invalid_metadata_format, invalid_blocks, invalid_attachments,
//     invalid_thread_ts, not_in_channel, is_archived), chat.update and
//     chat.delete (only the author: cant_update_message,
//     cant_delete_message, message_not_found), chat.getPermalink
//   - reactions.add, reactions.remove (invalid_name, already_reacted,
//     no_reaction)
//   - files.getUploadURLExternal, the upload URL (multipart or raw body),
//     files.completeUploadExternal (shares as a file_share message;
//     file_not_found); url_private serves the bytes to tokens of the team and
//     redirects anyone else to a sign-in page, as Slack does
//   - apps.connections.open, apps.event.authorizations.list
//
// Visibility follows Slack: public channels of the caller's team are
// visible to all, everything else to members only (channel_not_found
// otherwise); bots read and post only where they are members
// (not_in_channel). Conversation history excludes thread replies unless
// broadcast; thread parents carry reply_count, reply_users and latest_reply.
//
// Messages by the app's bot carry bot_id, app_id and bot_profile. With a
// custom username or icon they have subtype "bot_message", no user, and
// "icons" ({"emoji":…} or {"image_48":…}).
//
// # Socket Mode
//
// apps.connections.open (xapp- token) returns ws://127.0.0.1:PORT/link/
// with a one-time ticket. On connect the server sends
// {"type":"hello","num_connections":N,"debug_info":{…},"connection_info":{"app_id":…}},
// then events_api envelopes; it sends WebSocket pings (WithPingInterval) and
// answers the client's. A client acks with {"envelope_id":"…"}.
//
// Each event is sent once to the app, as Slack does, if any installation in
// its team can see it: the bot for conversations it is in, and every user
// holding a valid user token for conversations they are in (team-wide events
// such as user_change, team_join and channel_created go to all).
// "authorizations" names one installation, the bot when it can see the
// event; apps.event.authorizations.list with the payload's event_context
// lists all of them.
//
// Envelopes go out in creation order, spread over the live connections. One
// not acked within the ack timeout (3s, WithAckTimeout, SetAckTimeout), or
// in flight on a connection that goes away, is sent again with the same
// envelope and event IDs, retry_attempt+1 and retry_reason "timeout".
// Envelopes are never dropped: events raised while no client is connected
// wait for one. A connection told to disconnect gets nothing new and is
// closed by the server after the disconnect grace (WithDisconnectGrace) if
// the client does not close it.
//
// Events produced: message (new posts, replies, thread_broadcast,
// channel_join, file_share, bot_message), message_changed, message_deleted,
// reaction_added, reaction_removed, user_change (profile, status,
// deactivation), team_join, member_joined_channel, channel_created.
//
// # Not implemented
//
// RTM and the HTTP Events API; interactivity, slash commands and
// envelopes other than events_api; OAuth and scopes (every token has every
// scope); presence_change events (Slack sends them only over RTM: presence
// is read with users.getPresence); message_replied, im_created,
// file_shared, user_status_changed and channel_* events other than
// channel_created; tombstones for deleted thread parents (their replies
// stay stored but unreachable); archiving, invites, kicks and renaming
// through the Web API (conversations.setTopic is there, without its
// channel_topic event; conversations.leave sends member_left_channel); a default #general channel and
// Slackbot; Enterprise Grid and shared channels; ephemeral, scheduled and
// /me messages, metadata_subscriptions and the message_metadata_* events,
// and unfurls; edit windows; files.info and
// other file methods; Slack's automatic rate limit tiers (only scripted
// ones) and its retry give-up after three attempts.
package slackfake
