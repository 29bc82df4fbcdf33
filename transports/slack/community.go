package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// Community bridging: the app's bot (bot_token) takes part in a bridge
// group for one channel. Its events reach a session of their own, made
// with the bot token and attached to the Fanout under a pseudo-account
// (communityAccount), so that they keep the order, the redelivery
// recognition and the acknowledgement-after-Emit of every other session.
// The router adds that account to the routes of the channel (bridged).

var _ bridge.CommunityBridger = (*Transport)(nil)

// communityPrefix starts the pseudo-account of a bridged channel; it is no
// valid TEAM.USER, so it belongs to no workspace's group of the Fanout.
const communityPrefix = "community:"

func communityAccount(channel string) bridge.AccountID {
	return bridge.AccountID(communityPrefix + channel)
}

// BridgeChannel implements bridge.CommunityBridger. It needs bot_token. It
// checks the token (auth.test) and the channel (conversations.info), and
// has the bot join a public channel it is not in yet.
func (t *Transport) BridgeChannel(ctx context.Context, chat bridge.ChatID, sink bridge.Sink) (bridge.Session, error) {
	if t.set.botToken == "" {
		t.router.unbridge(string(chat))
		return nil, fmt.Errorf("slack: bridging a channel needs bot_token: %w", bridge.ErrUnsupported)
	}
	conv, err := groupID(chat)
	if err != nil {
		return nil, err
	}
	s, err := t.bridgeChannel(ctx, conv, sink)
	if err != nil {
		if permanent(err) {
			t.router.unbridge(conv) // its events are acknowledged again
		}
		return nil, err
	}
	return s, nil
}

// WillBridge implements bridge.CommunityBridger: events of the channel are
// not acknowledged until BridgeChannel opened it.
func (t *Transport) WillBridge(chat bridge.ChatID) {
	if conv, err := groupID(chat); err == nil {
		t.router.bridge(conv, "")
	}
}

// permanent reports whether opening a channel cannot succeed later.
func permanent(err error) bool {
	return errors.Is(err, bridge.ErrNotFound) || errors.Is(err, bridge.ErrForbidden) || errors.Is(err, bridge.ErrUnsupported)
}

func (t *Transport) bridgeChannel(ctx context.Context, conv string, sink bridge.Sink) (*Session, error) {
	bot := t.client(t.set.botToken)
	at, err := bot.AuthTestContext(ctx)
	if err != nil {
		return nil, classify("auth.test", err)
	}
	t.mu.Lock()
	t.bots[at.TeamID] = botInfo{userID: at.UserID, botID: at.BotID}
	t.mu.Unlock()
	info, err := bot.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: conv})
	if err != nil {
		return nil, classify("conversations.info", err)
	}
	if info.IsArchived {
		return nil, fmt.Errorf("slack: channel %s is archived: %w", conv, bridge.ErrNotFound)
	}
	if !info.IsMember && !info.IsPrivate {
		if _, _, _, err := bot.JoinConversationContext(ctx, conv); err != nil {
			return nil, classify("conversations.join", err)
		}
	}
	dir := t.directory(at.TeamID)
	dir.putChannel(conv, info.Name)
	id := communityAccount(conv)
	s := newSession(t, id, at.TeamID, at.UserID, bot, dir, sink)
	s.token = t.set.botToken // the token of its client, as for an account
	s.community = conv
	t.fanout.Attach(id, s)
	t.router.bridge(conv, id)
	return s, nil
}

// bridge makes the events of a channel go to a community session too.
func (r *router) bridge(channel string, acct bridge.AccountID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bridged == nil {
		r.bridged = map[string]bridge.AccountID{}
	}
	r.bridged[channel] = acct
}

// unbridge undoes bridge.
func (r *router) unbridge(channel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.bridged, channel)
}

// withBridged adds the community session of a bridged channel to the
// accounts an event goes to. Before the channel is open (WillBridge) the
// event is incomplete: it is not acknowledged, and comes again.
func (r *router) withBridged(in *inbound, accounts []bridge.AccountID, complete bool) ([]bridge.AccountID, bool) {
	if in.channel == "" {
		return accounts, complete
	}
	r.mu.Lock()
	acct, ok := r.bridged[in.channel]
	r.mu.Unlock()
	if !ok {
		return accounts, complete
	}
	if _, live := r.t.fanout.Session(acct); !live || acct == "" {
		return accounts, false
	}
	return append(accounts, acct), complete
}

// senderOf names the author of a message in a bridged channel, for the
// community room: their display name and picture. A member users.info
// does not know keeps their ID as name.
func (s *Session) senderOf(ctx context.Context, ev *bridge.MessageEvent, author string) error {
	if author == "" {
		return nil
	}
	m, err := s.member(ctx, author)
	if err != nil {
		if s.noteAuth(ctx, err) || !errors.Is(err, bridge.ErrNotFound) {
			return err
		}
		ev.SenderName = author
		return nil
	}
	ev.SenderName, ev.SenderAvatarURL = m.display, m.avatar
	return nil
}
