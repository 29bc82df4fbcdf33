package slack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge/community"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// An XMPP occupant with a vCard picture is posted on Slack with it: the
// hub asks the room for the occupant's vCard (Prosody hands it to the
// account's), uploads the PHOTO to Prosody's upload service and gives its
// URL as icon_url. A picture is uploaded once: another occupant with the
// same one gets the same URL. An occupant without a picture is posted
// without one.
func TestCommunityOccupantAvatar(t *testing.T) {
	prosodytest.Require(t)
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		MUC:        mucDomain,
		Upload:     "upload.localhost",
		Modules:    []string{"vcard"},
		Users:      map[string]string{"alice": "pw", "bob": "pw", "eve": "pw"},
	})
	w := newCommunityOn(t, p.C2SAddr(), p.ComponentAddr())
	w.p = p
	w.start(w.channel.ID, func(c *community.Config) { c.Uploader = w.gw.AvatarUploader() })
	ctx := bounded(t)

	picture := testPNG(t)
	alice := prosodytest.Dial(ctx, t, w.c2s, "alice", "localhost", "pw")
	photo := xmpp.NewElement("vcard-temp", "PHOTO").Append(
		xmpp.TextElement("vcard-temp", "TYPE", "image/png"),
		xmpp.TextElement("vcard-temp", "BINVAL", base64.StdEncoding.EncodeToString(picture)))
	vcard := xmpp.NewElement("vcard-temp", "vCard").Append(xmpp.TextElement("vcard-temp", "FN", "Alice"), photo)
	if res, err := alice.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQSet}, Payload: vcard}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("publishing alice's vCard: %v %v", res, err)
	}
	w.enter(ctx, alice, "alice")
	// The listener joins the room.
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}
	bob := prosodytest.Dial(ctx, t, w.c2s, "bob", "localhost", "pw")
	if res, err := bob.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQSet}, Payload: vcard.Copy()}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("publishing bob's vCard: %v %v", res, err)
	}
	w.enter(ctx, bob, "bob")
	eve := w.join(ctx, "eve", "eve")

	// The first message waits at most 2 s for the picture: it may go
	// without it, but never with another. The next one has it.
	w.say(alice, "a1", "first from alice")
	first := w.slackMessage(ctx, "first from alice")
	w.say(alice, "a2", "second from alice")
	second := w.slackMessage(ctx, "second from alice")
	if second.Username != "alice" {
		t.Errorf("username %q, want alice", second.Username)
	}
	if !strings.HasPrefix(second.IconURL, "http://"+p.HTTPAddr()+"/") {
		t.Fatalf("icon_url %q is not on Prosody's HTTP host %s", second.IconURL, p.HTTPAddr())
	}
	if first.IconURL != "" && first.IconURL != second.IconURL {
		t.Errorf("the first message's icon_url %q differs from the second's %q", first.IconURL, second.IconURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, second.IconURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, picture) {
		t.Fatalf("GET icon_url: status %d, %d bytes (want %d, the same as the vCard's), err %v", resp.StatusCode, len(got), len(picture), err)
	}

	// Bob has the same picture: the same upload.
	w.say(bob, "b1", "first from bob")
	w.say(bob, "b2", "second from bob")
	if m := w.slackMessage(ctx, "second from bob"); m.IconURL != second.IconURL || m.Username != "bob" {
		t.Errorf("bob's message: icon_url %q, username %q; want alice's %q and bob", m.IconURL, m.Username, second.IconURL)
	}

	// Eve has no picture: her messages go with the default.
	w.say(eve, "e1", "first from eve")
	w.say(eve, "e2", "second from eve")
	if m := w.slackMessage(ctx, "second from eve"); m.IconURL != "" || m.Username != "eve" {
		t.Errorf("eve's message: icon_url %q, username %q; want none and eve", m.IconURL, m.Username)
	}
}

// slackMessage waits for the channel's message with text.
func (w *communityWorld) slackMessage(ctx context.Context, text string) slackfake.Message {
	w.t.Helper()
	var found slackfake.Message
	if err := w.fake.WaitUntil(ctx, func() bool {
		for _, m := range w.fake.Messages(w.channel.ID) {
			if m.Text == text {
				found = m
				return true
			}
		}
		return false
	}); err != nil {
		w.t.Fatalf("no message %q on Slack: %v; there are %+v", text, err, w.fake.Messages(w.channel.ID))
	}
	return found
}

// testPNG returns a small PNG picture.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range 4 {
		img.Set(i, i, color.RGBA{R: 200, G: 40, B: 90, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
