package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// discordHarness runs the bridge's conformance suite against discordfake
// through discordgo: alice registers her personal account (kind "user")
// or links her Discord user to the bot (kind "bot"); bob is the peer in
// their DM, or in his DM with the bot.
type discordHarness struct{ kind string }

func (h discordHarness) Start(t *testing.T) (bridge.Transport, bridgetest.World) {
	w := newWorld(t, allPrivileged)
	if h.kind == kindUser {
		tr := w.transport()
		return tr, &discordWorld{w: w, tr: tr, kind: kindUser, dm: w.aliceBob}
	}
	// bob is routed to alice as if she wrote to him through the bot in an
	// earlier run of xgate (the route is kept in the State).
	st := &MemoryState{}
	if err := st.Put(routeKey(w.bob.ID), string(MakeAccountID(kindBot, w.alice.ID))); err != nil {
		t.Fatal(err)
	}
	tr, _ := runTransport(t, w, st)
	return tr, &discordWorld{w: w, tr: tr, kind: kindBot, dm: w.fake.OpenDM(w.bot.ID, w.bob.ID).ID}
}

type discordWorld struct {
	w    *world
	tr   *Transport
	kind string
	dm   string // the DM channel of the peer and the account
}

// Credentials are a token, or a user ID with the code the bot just sent.
func (d *discordWorld) Credentials() map[string]string {
	if d.kind == kindUser {
		return map[string]string{"token": d.w.aliceTok}
	}
	ctx := bounded(d.w.t, 10*time.Second)
	if _, _, err := d.tr.RegisterStep(ctx, map[string]string{"user": d.w.alice.ID}); err != nil {
		d.w.t.Fatal(err)
	}
	ms := d.w.fake.Messages(d.w.fake.OpenDM(d.w.alice.ID, d.w.bot.ID).ID)
	return map[string]string{"user": d.w.alice.ID, "code": codeRE.FindString(ms[len(ms)-1].Content)}
}
func (d *discordWorld) BadCredentials() map[string]string {
	if d.kind == kindUser {
		return map[string]string{"token": "not-a-token"}
	}
	return map[string]string{"user": "not-a-user-id", "code": "123456"}
}
func (d *discordWorld) Peer() bridge.UserID { return bridge.UserID(d.w.bob.ID) }

func (d *discordWorld) PeerSays(_ *testing.T, text string) bridge.MessageID {
	return bridge.MessageID(d.w.fake.Post(d.w.bob.ID, d.dm, text))
}

func (d *discordWorld) PeerEdits(_ *testing.T, id bridge.MessageID, text string) {
	d.w.fake.Edit(d.w.bob.ID, d.dm, string(id), text)
}

func (d *discordWorld) PeerRetracts(_ *testing.T, id bridge.MessageID) {
	d.w.fake.Delete(d.w.bob.ID, d.dm, string(id))
}

func (d *discordWorld) PeerReacts(_ *testing.T, id bridge.MessageID) {
	d.w.fake.React(d.w.bob.ID, d.dm, string(id), "👍")
}

func (d *discordWorld) Message(_ *testing.T, id bridge.MessageID) (string, bool) {
	m, ok := d.w.fake.Message(d.dm, string(id))
	return m.Content, ok
}

func (d *discordWorld) Reactions(_ *testing.T, id bridge.MessageID) int {
	m, _ := d.w.fake.Message(d.dm, string(id))
	return len(m.Reactions)
}

// Texts are the DM's texts; the bot's are without alice's signature.
func (d *discordWorld) Texts(*testing.T) []string {
	var out []string
	for _, m := range d.w.fake.Messages(d.dm) {
		out = append(out, strings.TrimPrefix(m.Content, "**Alice:** "))
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
	if s, ok := d.tr.fanout.Session(MakeAccountID(d.kind, d.w.alice.ID)); ok {
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

// Revoke revokes alice's token, or has her end her link to the bot (and
// waits for the bot's answer).
func (d *discordWorld) Revoke(t *testing.T) {
	if d.kind == kindUser {
		d.w.fake.RevokeToken(d.w.aliceTok)
		return
	}
	ch := d.w.fake.OpenDM(d.w.alice.ID, d.w.bot.ID).ID
	d.w.fake.Post(d.w.alice.ID, ch, "unlink")
	if _, err := d.w.fake.WaitMessage(bounded(t, 10*time.Second), ch, func(m discordfake.Message) bool {
		return strings.Contains(m.Content, "no longer linked")
	}); err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	for _, kind := range []string{kindUser, kindBot} {
		t.Run(kind, func(t *testing.T) { bridgetest.RunConformance(t, discordHarness{kind: kind}) })
	}
}
