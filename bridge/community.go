package bridge

import (
	"context"

	"github.com/xgate-im/xgate/kit/attach"
)

// CommunityBridger is implemented by transports whose app bot can bridge
// one of its network's channels to a community room (package
// bridge/community): a room on the host server's MUC service in which
// every remote person shows as their own occupant.
type CommunityBridger interface {
	// BridgeChannel starts handing the events of chat, a channel of the
	// app's bot, to sink: MessageEvent (with SenderName and
	// SenderAvatarURL set where the network knows them), EditEvent,
	// RetractionEvent and ReactionEvent; never the app's own posts. An
	// event is acknowledged to the network only after sink.Emit returned
	// nil. The Session it returns posts into the channel through the bot:
	// it implements Relay, and Editor and Retractor for the messages it
	// relayed. Close stops the events. A channel that does not exist or
	// that the bot cannot reach fails with ErrNotFound or ErrForbidden.
	BridgeChannel(ctx context.Context, chat ChatID, sink Sink) (Session, error)
	// WillBridge announces, before the transport runs and without I/O,
	// that chat is going to be bridged: its events that come before
	// BridgeChannel returns are not acknowledged (the network sends them
	// again), rather than acknowledged unbridged. A BridgeChannel that
	// fails for good (ErrNotFound, ErrForbidden, ErrUnsupported) ends it.
	WillBridge(chat ChatID)
}

// AvatarUploader returns the uploader (XEP-0363, on the host server's
// upload service, as configured by Config.Upload) with which a bridge
// group publishes its XMPP occupants' pictures for the networks, or nil
// when uploads are turned off.
func (g *Gateway) AvatarUploader() attach.Uploader {
	u := newHTTPUploader(g.cfg.Upload, g.comp, g.domain)
	if u == nil {
		return nil
	}
	return u
}
