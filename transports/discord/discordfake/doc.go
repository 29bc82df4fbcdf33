// Package discordfake is a fake Discord that speaks Discord's real wire
// protocols, the REST API (v9 and v10) and the Gateway, so that a real
// client (github.com/bwmarrin/discordgo) can be exercised end to end without
// an account or a network: by the Discord transport's tests, by the
// `xgate demo` playground and by benchmarks.
//
// # Running it
//
// New starts a Server on its own 127.0.0.1 port; Close stops it, its sockets
// and its goroutines. discordgo computes its endpoint URLs once, from
// https://discord.com/, so point it at the fake through its HTTP client
// rather than its globals (HTTPClient rewrites every request to the fake);
// the Gateway URL then comes from GET /gateway:
//
//	s, _ := discordgo.New("Bot " + fake.IssueBotToken(botID, discordfake.IntentMessageContent))
//	s.Client = fake.HTTPClient()
//	s.Identify.Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages | discordgo.IntentMessageContent
//	err := s.Open()
//
// The server serves, on one port:
//
//	/api/v9/…, /api/v10/…      the REST API (see Routes)
//	/gw/?v=9&encoding=json     the Gateway WebSocket, as GET /gateway answers
//	/attachments/C/A/NAME?ex=… files of messages, on signed links that expire
//	/avatars/USER/HASH.png     avatars, as on cdn.discordapp.com (a PNG colored
//	                           by the hash; 404 once the user changed it)
//
// Every Server is independent: there is no global state, and all methods are
// safe for concurrent use. One mutex guards the whole state; each REST call
// and each Gateway opcode is handled under it, so each is atomic. Each
// Gateway socket has one reader goroutine and one writer goroutine, which
// owns all its writes.
//
// # The world
//
// Users (people or bots, with username, global name and avatar hash),
// guilds with members (and nicknames), text channels (with topics),
// threads, DMs, group DMs, friendships, webhooks and tokens. IDs are snowflakes from the clock
// (WithClock), strictly increasing even when it stands still; message
// timestamps are those of their IDs. Bot tokens are sent as "Bot TOKEN",
// user tokens bare; a token of one kind in the other form is refused (401).
// The fake has no permission system: guild members see and post in every
// channel of their guild, and recipients in their DMs; others get 403
// Missing Access (50001).
//
// Setup and act methods (they send the Gateway what Discord would, to the
// sessions that exist at the time): CreateUser, CreateGuild, AddMember,
// CreateChannel, OpenDM, CreateGroupDM, AddFriend, IssueBotToken (with the
// privileged intents granted to the application), IssueUserToken,
// RevokeToken; RemoveMember (GUILD_MEMBER_REMOVE, GUILD_DELETE), SetTopic
// (CHANNEL_UPDATE); Post
// (ReplyTo, WithAttachment, WithEmbeds), Edit, Delete, React, Unreact,
// Typing, SetPresence, StartThread, UpdateProfile (USER_UPDATE,
// GUILD_MEMBER_UPDATE), MarkRead (MESSAGE_ACK). They panic on unknown IDs and on what
// Discord would refuse, since those are mistakes in the calling test.
//
// Inspection: Messages, Message, WaitMessage and WaitUntil (woken by every
// change; they never poll or sleep), CallCount, RateLimited,
// InvalidRequests (401, 403 and 429 answers), EarlyRequests, UnknownRoutes,
// UnknownFields, Connections, Sessions, Dispatches, Identifies,
// LastIdentify, ReadState, User, Guild, Channel.
//
// Faults: RateLimit (per-route 429), RateLimitGlobal, SetBucket (a real
// bucket whose X-RateLimit-* headers discordgo's limiter follows), FailNext
// (5xx), DropSockets, Reconnect (op 7), InvalidateSessions (op 9),
// CloseSockets (any close code), WithholdHeartbeatACK, RevokeToken (401 and
// close 4004), WithStrictBodies.
//
// # REST: what is faithful
//
// JSON bodies shaped as Discord's (snowflakes as strings, null for absent
// avatars and names, "discriminator":"0" for people; a DM's or group DM's
// recipients are the others, never the user who asks or is told). Errors are Discord's:
// {"message":…,"code":…} with 10003 Unknown Channel, 10004 Unknown Guild,
// 10007 Unknown Member, 10008 Unknown Message, 10013 Unknown User, 10014
// Unknown Emoji, 10015 Unknown Webhook, 20001 for bots on user-only routes,
// 40005 files over MaxUpload (413), 50001 Missing Access, 50005 editing
// another's message, 50006 empty
// message, 50007 a DM to someone who shares no guild and is no friend, 50013 Missing Permissions, 50024 wrong channel type, 50033
// invalid recipient, 50035 Invalid Form Body with its "errors" tree (content
// over 2,000 characters, replies to unknown messages, allowed_mentions with
// both parse "users" and users, limits out of range, webhook names with
// "discord" or "clyde"), 50109 invalid JSON, 160004 a second thread on a
// message. Unknown routes answer 404 {"message":"404: Not Found","code":0}
// (405 for a known path and another method) and are recorded.
//
// Messages: create (JSON, or multipart with payload_json and files[n]),
// get, list (limit 1–100, before, after: newest first; with after alone the
// oldest following), edit (content, embeds, allowed_mentions, attachments to
// keep, new files; authors only), delete (authors only). Replies
// (message_reference) get type 19 and referenced_message. Mentions are
// computed from <@id>/<@!id>, @everyone and @here, restricted by
// allowed_mentions, which is stored as sent; a reply pings the replied
// author unless allowed_mentions.replied_user is false. Reactions: Unicode
// emoji or custom "name:id" (a bare name such as "thumbsup" is 10014). Without the
// MESSAGE_CONTENT intent granted, bots read empty content, embeds and
// attachments except in DMs, in their own messages and in messages that
// mention them, over REST and the Gateway alike. Listing guild members needs
// GUILD_MEMBERS granted. Threads started from a message take its ID;
// their members are joined and left with PUT and DELETE
// /channels/T/thread-members/@me (threads.go).
// Webhooks: create, list (channel, guild), execute (wait, thread_id,
// username, avatar_url; the author is the webhook with bot true and
// application_id of the bot that made it), edit and delete their messages.
// Read state (people only; bots get 20001): POST
// /channels/C/messages/M/ack records it and sends MESSAGE_ACK to the
// person's sessions. Attachment URLs carry ex/is/hm like Discord's CDN and stop working 24
// hours after the upload (by the fake's clock).
//
// Rate limits: a scripted or bucket 429 has the body {"message":"You are
// being rate limited.","retry_after":SECONDS,"global":false}, Retry-After
// and X-RateLimit-Limit, -Remaining, -Reset, -Reset-After, -Scope; global
// ones "global":true with X-RateLimit-Global and X-RateLimit-Scope: global.
// A scripted 429 holds for its retry_after, as Discord's limits do: until
// then the same route and channel (for a global one, every route for that
// token) answers 429 again, and EarlyRequests counts those requests.
// Bodies of message create, edit and webhook execute are checked for
// undocumented top-level fields (UnknownFields; refused with 50035 under
// WithStrictBodies).
//
// # Gateway: what is faithful
//
// HELLO (op 10) with heartbeat_interval first; IDENTIFY (op 2) with token
// ("Bot " prefix tolerated), intents (required for bots: 4013 without or
// with undefined bits; 4014 for privileged ones not granted), compress
// (READY and GUILD_CREATE then come zlib-compressed in binary frames, as
// Discord does for large payloads). READY carries v, user, session_id,
// resume_gateway_url, unavailable guilds, and for bots the application, for
// people private_channels, relationships and friends' presences; a
// GUILD_CREATE per guild follows (bots need GUILDS; without GUILD_MEMBERS
// only the bot's own member is listed). Op 1 heartbeats are answered by op
// 11. Dispatches carry sequence numbers per session, starting at 1.
// RESUME (op 6) re-attaches a session to a new socket and replays every
// dispatch after the client's sequence number, then RESUMED; an unknown,
// invalidated or foreign session gets op 9 d:false, and a sequence number
// the session never reached closes 4007. Sessions outlive their sockets:
// dispatches raised while a client is away are kept for it (the last
// 10,000 already sent are kept for replay). Close codes: 4001 unknown
// opcode, 4002 undecodable payload, 4003 not authenticated, 4004
// authentication failed (also when a token is revoked), 4005 already
// authenticated, 4007, 4013, 4014. Op 3 presence updates from clients set
// the user's status and activities and are dispatched to others; op 8
// (request guild members, by query or user IDs) is answered with one
// GUILD_MEMBERS_CHUNK per guild.
//
// Dispatches: MESSAGE_CREATE, MESSAGE_UPDATE, MESSAGE_DELETE,
// MESSAGE_REACTION_ADD, MESSAGE_REACTION_REMOVE, TYPING_START,
// PRESENCE_UPDATE, THREAD_CREATE, CHANNEL_CREATE, GUILD_CREATE,
// GUILD_MEMBER_ADD, GUILD_MEMBER_UPDATE, GUILD_MEMBERS_CHUNK, USER_UPDATE,
// RELATIONSHIP_ADD, MESSAGE_ACK, READY, RESUMED. Bot sessions get an
// event only with its intent (GUILD_/DIRECT_MESSAGES,
// _MESSAGE_REACTIONS, _MESSAGE_TYPING, GUILD_PRESENCES, GUILD_MEMBERS,
// GUILDS); your own messages and reactions come back to you, your own
// typing does not; bots are not told of new DMs (CHANNEL_CREATE) nor of
// relationships.
//
// # Simplified or not implemented
//
// User-account sessions ignore intents and get everything they can see
// (Discord's clients identify with capabilities instead); their READY has
// no guild objects inline, GUILD_CREATE follows as for bots. No roles or
// permission overwrites, categories, voice, stages, forums, stickers,
// polls, components, interactions or slash commands; no guild emoji
// registry (any "name:id" is accepted); no group DM creation over REST; no "around" in history; no
// pins, invites, bans, audit logs or member edits; no nonce
// de-duplication; no edit of a thread's name; no sharding (shard is
// ignored) and no per-identify rate limit; no automatic rate limits
// (only scripted ones and buckets set with SetBucket) and no invalid
// request ban; heartbeats are not required (a silent client is not
// disconnected, 4009 is only sent through CloseSockets); the ETF encoding
// and zlib-stream transport compression are refused at the upgrade.
package discordfake
