package bridge_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// An occupant the network has no profile of (a webhook posting in a
// channel) has the name and picture of their messages in their occupant
// vCard, which is how clients show occupants' avatars.
func TestOccupantVCardFromMessages(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nhook-in-room")
	pics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	t.Cleanup(pics.Close)
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.Groups = true }
	tr.SetGroups("acct-alice", bridge.GroupInfo{ID: "g1", Name: "Lounge"})
	tr.SetMembers("g1",
		bridge.GroupMember{User: "acct-alice", Nick: "Alice"},
		bridge.GroupMember{User: "hook", Nick: "Deploy bot"},
	)
	e := newEnvWith(t, tr, func(c *bridge.Config) { c.AvatarClient = pics.Client() })
	e.register(alice, "good-alice")
	me := alice + "/phone"
	e.join(me, loungeRes+"alice", `<history maxstanzas='0'/>`)
	ev := bridge.MessageEvent{Chat: loungeChat, Sender: "hook", ID: "g-1", Text: "deployed", SenderName: "Deploy bot", SenderAvatarURL: pics.URL + "/hook.png"}
	if err := tr.Emit(e.ctx(), "acct-alice", ev); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Type == xmpp.MessageGroupchat && m.Body == "deployed" })
	e.send(`<iq type='get' id='v1' from='%s' to='%s'><vCard xmlns='vcard-temp'/></iq>`, me, m.From)
	iq := e.expectIQ("v1")
	photo := iq.Payload.Child("", "PHOTO")
	if iq.Type != xmpp.IQResult || iq.Payload.ChildText("", "FN") != "Deploy bot" || photo == nil ||
		photo.ChildText("", "BINVAL") != base64.StdEncoding.EncodeToString(png) {
		t.Fatalf("occupant vCard of %s: %s", m.From, iq.Element())
	}
}
