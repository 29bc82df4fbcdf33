package discord

import (
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
)

// discordHarness runs the bridge's conformance suite against discordfake
// through discordgo: alice registers her personal account, bob is the
// peer in their DM.
type discordHarness struct{}

func (discordHarness) Start(t *testing.T) (bridge.Transport, bridgetest.World) {
	w := newWorld(t, allPrivileged)
	tr := w.transport()
	return tr, &discordWorld{w: w, tr: tr}
}

type discordWorld struct {
	w  *world
	tr *Transport
}

func (d *discordWorld) Credentials() map[string]string {
	return map[string]string{"token": d.w.aliceTok}
}
func (d *discordWorld) BadCredentials() map[string]string {
	return map[string]string{"token": "not-a-token"}
}
func (d *discordWorld) Peer() bridge.UserID { return bridge.UserID(d.w.bob.ID) }

func (d *discordWorld) PeerSays(_ *testing.T, text string) bridge.MessageID {
	return bridge.MessageID(d.w.fake.Post(d.w.bob.ID, d.w.aliceBob, text))
}

func (d *discordWorld) PeerEdits(_ *testing.T, id bridge.MessageID, text string) {
	d.w.fake.Edit(d.w.bob.ID, d.w.aliceBob, string(id), text)
}

func (d *discordWorld) PeerRetracts(_ *testing.T, id bridge.MessageID) {
	d.w.fake.Delete(d.w.bob.ID, d.w.aliceBob, string(id))
}

func (d *discordWorld) PeerReacts(_ *testing.T, id bridge.MessageID) {
	d.w.fake.React(d.w.bob.ID, d.w.aliceBob, string(id), "👍")
}

func (d *discordWorld) Message(_ *testing.T, id bridge.MessageID) (string, bool) {
	m, ok := d.w.fake.Message(d.w.aliceBob, string(id))
	return m.Content, ok
}

func (d *discordWorld) Reactions(_ *testing.T, id bridge.MessageID) int {
	m, _ := d.w.fake.Message(d.w.aliceBob, string(id))
	return len(m.Reactions)
}

func (d *discordWorld) Texts(*testing.T) []string {
	var out []string
	for _, m := range d.w.fake.Messages(d.w.aliceBob) {
		out = append(out, m.Content)
	}
	return out
}

func (d *discordWorld) RateLimit(*testing.T) {
	d.w.fake.RateLimit("POST /channels/{channel.id}/messages", 1, 300*time.Millisecond)
}

// Unacknowledged counts the events the transport's connection holds as
// not yet delivered: Discord has no acknowledgements, so the transport
// keeps them itself and dispatches them again (conn.redeliver).
func (d *discordWorld) Unacknowledged(*testing.T) int {
	if s := d.session(); s != nil {
		return s.c.unacknowledged()
	}
	return 0
}

// session is alice's live session.
func (d *discordWorld) session() *Session {
	if s, ok := d.tr.fanout.Session(MakeAccountID(kindUser, d.w.alice.ID)); ok {
		return s.(*Session)
	}
	return nil
}

func (d *discordWorld) WaitAcknowledged(t *testing.T) {
	t.Helper()
	s := d.session()
	if s == nil {
		return
	}
	if err := s.c.waitDelivered(bounded(t, 10*time.Second)); err != nil {
		t.Fatalf("%d events never delivered (%v)", s.c.unacknowledged(), err)
	}
}

func (d *discordWorld) Interrupt(*testing.T) { d.w.fake.DropSockets() }

func (d *discordWorld) Revoke(*testing.T) { d.w.fake.RevokeToken(d.w.aliceTok) }

func TestConformance(t *testing.T) { bridgetest.RunConformance(t, discordHarness{}) }
