package discord_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestFileRehostedThroughProsody: a file Bob posts on Discord reaches the
// XMPP user as a link on the host server's upload service (Prosody's
// mod_http_file_share, found by discovery), which serves the same bytes
// after the Discord CDN link expired; the message after it is not
// delivered before it.
func TestFileRehostedThroughProsody(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	fake := discordfake.New(discordfake.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob"})
	fake.AddFriend(alice.ID, bob.ID)
	dm := fake.OpenDM(alice.ID, bob.ID).ID
	token := fake.IssueUserToken(alice.ID)
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
		Upload:     "upload.localhost",
	})
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	gateway(t, p, db, discord.Config{APIURL: fake.APIURL(), CDNURL: fake.URL() + "/", PersonalAccounts: true})
	ctx := bounded(t)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := prosodytest.Dial(dctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	gw := jid.MustParse(gwDomain)
	bobJID := jid.MustParse(bob.ID + "@" + gwDomain)
	c.Send(&xmpp.Presence{})
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", bridge.NSRegister)
	sub.Set("token", token)
	if res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register: %v %v", res, err)
	}
	for _, j := range []jid.JID{gw, bobJID} {
		if _, err := c.Expect(ctx, prosodytest.PresenceFrom(j, xmpp.PresenceSubscribe)); err != nil {
			t.Fatal(err)
		}
		c.Approve(j)
		c.Subscribe(j)
	}

	photo := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("pixels"), 5000)...)
	fake.Post(bob.ID, dm, "", discordfake.WithAttachment("holiday photo.png", "image/png", photo))
	fake.Post(bob.ID, dm, "after the photo")
	chat := func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.From.Bare() == bobJID && m.Body != ""
	}
	s, err := c.Expect(ctx, chat)
	if err != nil {
		t.Fatal(err)
	}
	m := s.(*xmpp.Message)
	var oob string
	for _, x := range m.Extra {
		if x.Name.Space == bridge.NSOOB {
			oob = x.ChildText("", "url")
		}
	}
	uploads := "http://" + p.HTTPAddr() + "/"
	if !strings.HasPrefix(m.Body, uploads) || oob != m.Body || !strings.HasSuffix(m.Body, ".png") {
		t.Fatalf("message %s, want a link on %s as body and XEP-0066 URL; prosody log:\n%s", m.Element(), uploads, p.LogTail(20))
	}
	if s, err := c.Expect(ctx, chat); err != nil || s.(*xmpp.Message).Body != "after the photo" {
		t.Fatalf("next message %v %v", s, err)
	}

	// A day later Discord's link is dead; the server's still serves the file.
	clock.Add(int64(25 * time.Hour))
	cdn := fake.Messages(dm)[0].Attachments[0].URL
	if code := status(t, cdn, nil); code == http.StatusOK {
		t.Fatalf("the CDN link still works (%d); the test proves nothing", code)
	}
	var got []byte
	if code := status(t, m.Body, &got); code != http.StatusOK || !bytes.Equal(got, photo) {
		t.Fatalf("GET %s: %d, %d bytes, want the %d of the photo", m.Body, code, len(got), len(photo))
	}
}

// status GETs url and returns the status, and the body into body if set.
func status(t *testing.T, url string, body *[]byte) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		*body = b
	}
	return resp.StatusCode
}
