package bridge

import (
	"strings"

	"github.com/xgate-im/xgate/store"
)

// chatKey names one chat of one account: it is the unit of ordering (one
// queue towards the network), of message-ID mapping (one scope) and of
// the dedupe of incoming events, for direct chats, groups and threads
// alike.
type chatKey struct {
	Account store.AccountKey
	Chat    ChatRef
}

// directChat is the key of the direct chat of an account with a peer. A
// direct chat is named by its peer alone: the transport may not have a
// conversation ID for it yet.
func directChat(k store.AccountKey, peer UserID) chatKey {
	return chatKey{Account: k, Chat: ChatRef{Kind: Direct, Peer: peer}}
}

// chatKeySep separates the parts of the name of a chat that is not a
// plain direct chat. Remote user IDs do not contain it.
const chatKeySep = "\x1f"

// name is the chat's part of queue names and scopes. A direct chat is
// named by its peer exactly as the peer-keyed bridge (store schema 1) named
// it, so its queued actions and message-ID pairs stay valid; a group is
// "g", its parent and its ID, which no such name can be.
func (k chatKey) name() string {
	c := k.Chat
	if c.Kind == Direct {
		if !strings.Contains(string(c.Peer), chatKeySep) {
			return string(c.Peer)
		}
		return "d" + chatKeySep + string(c.Peer)
	}
	return "g" + chatKeySep + string(c.Parent) + chatKeySep + string(c.ID)
}

// queue is the name of the chat's outbox queue towards the network.
func (k chatKey) queue(gateway string) string {
	return strings.Join([]string{accountQueuePrefix(gateway, k.Account), k.name()}, "")
}

// accountQueuePrefix is what the queue names of every chat of an account
// start with.
func accountQueuePrefix(gateway string, k store.AccountKey) string {
	return strings.Join([]string{"tx", gateway, k.User, k.Remote, ""}, queueSep)
}

// scope is the chat's message-ID mapping scope.
func (k chatKey) scope(gateway string) string {
	return gateway + "|" + k.Account.User + "|" + k.Account.Remote + "|" + k.name()
}

// seenKey names a remote message of the chat for the dedupe of incoming
// events. Its scope is the XMPP conversation, not the account: the user
// and the chat (for a direct chat its peer), so a message reaching two
// accounts of one user counts once, each user gets their own copy, and
// the user's own actions (a reaction to it) find it.
func (k chatKey) seenKey(gateway string, id MessageID) store.SeenKey {
	return store.SeenKey{Scope: gateway + "|" + k.Account.User + "|" + k.name(), RemoteID: string(id)}
}
