// Package community bridges a room on the host server's MUC service with
// channels of remote networks, through the networks' app bots: a bridge
// group, configured by the administrator. Every member of the group sees
// every other's messages, corrections, retractions, reactions and replies
// (replies.go tells how each side shows them), each under the author's
// own name:
//
//   - on the XMPP side each remote person is their own occupant: the
//     component joins the room from a JID of its own domain for that
//     person (the puppet), with their display name as nick (a clash gets
//     the network's name, then a number, added), at their first message,
//     and leaves after IdleTimeout without one;
//   - on the networks the XMPP occupants and the people of the other
//     networks post under their own name and picture (bridge.Relay).
//
// One more occupant, the listener (ListenerNick, on the first network's
// component), receives the room's messages for the networks: the room
// sends every message to every occupant, and only the listener's copy is
// read: the puppets' copies are dropped by the component before they are
// decoded (xmpp.Component.SkipStanzas), except the reflection of a
// message the puppet sent, which confirms its delivery. Messages of the group's own occupants are recognized by nick and
// by the IDs the hub gave them, so nothing comes back as an echo; the bots'
// own posts never reach the hub (bridge.CommunityBridger).
//
// # Delivery
//
// Everything that happens in one member of the group becomes a post in
// the hub's durable queue in the store (one queue per group, in order)
// before it is acknowledged to its network; a worker delivers each post
// to every other member and records, per member, the message ID it got
// there (store message refs, scope "community|GROUP|MEMBER", keyed by the
// group-wide ID of the message), so that a later correction or retraction
// follows and a post handled again is not delivered twice. A message to
// the room counts as delivered when the room reflects it to the puppet
// that sent it and the host server confirmed it (Component.Flush), so that
// a connection lost afterwards does not write it again. A transport holds
// back (does not acknowledge) the events of a channel announced with
// WillBridge until the hub opened it. A temporary failure (the host server or its MUC restarting,
// a network's rate limit) is retried with backoff, keeping the order; a
// permanent one (the room or the channel gone, a puppet banned) is
// reported (log and Stats) and the post is not retried for that member.
//
// The listener pings itself in the room (XEP-0410) every SelfPing; when the
// room no longer knows it (the MUC service restarted), it and every puppet
// join again, and the listener asks the room for the history since it was
// last there, so that messages sent meanwhile are not lost. A kicked or
// banned puppet is not joined again; its person's posts are reported and
// dropped for the room.
//
// # Concurrency
//
// A Hub's Run owns its goroutines (the worker, the listener's self-ping
// loop, the idle sweeper) and waits for them. Stanzas reach it through a
// Mux on the gateway's dispatcher, which only queues them.
package community
