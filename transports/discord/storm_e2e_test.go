package discord_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
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

// TestRateLimitStormThroughProsody: a real XMPP client writes to two
// Discord friends at once through a real Prosody while Discord answers
// the message posts with a storm: a global 429, per-route 429s (each with
// Retry-After and X-RateLimit-* headers, and holding its channel for its
// retry_after, as Discord does), 500s and a 503, under a real bucket of 5
// posts per 500 ms per channel whose headers discordgo's limiter follows.
// Every message arrives once, in order in each chat; nothing is asked
// while a limit holds (EarlyRequests), no 429 comes beyond the scripted
// ones (the bucket was followed), and the whole takes about what the
// limits ask for: at least the global limit plus each chat's share of
// the per-route ones, and not much more than all of them end to end.
func TestRateLimitStormThroughProsody(t *testing.T) {
	const postRoute = "POST /channels/{channel.id}/messages"
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob"})
	carol := fake.CreateUser(discordfake.UserSpec{Username: "carol", GlobalName: "Carol"})
	type chat struct {
		name string
		dm   string
		jid  jid.JID
	}
	var chats []chat
	for _, u := range []discordfake.User{bob, carol} {
		fake.AddFriend(alice.ID, u.ID)
		chats = append(chats, chat{name: u.Username, dm: fake.OpenDM(alice.ID, u.ID).ID, jid: jid.MustParse(u.ID + "@" + gwDomain)})
	}
	token := fake.IssueUserToken(alice.ID)

	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
	})
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
	gateway(t, p, db, discord.Config{APIURL: fake.APIURL(), CDNURL: fake.URL() + "/", PersonalAccounts: true})

	ctx := bounded(t)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := prosodytest.Dial(dctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	gw := jid.MustParse(gwDomain)
	c.Send(&xmpp.Presence{})
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", bridge.NSRegister)
	sub.Set("token", token)
	if res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register: %v %v", res, err)
	}
	for _, j := range []jid.JID{gw, chats[0].jid, chats[1].jid} {
		if _, err := c.Expect(ctx, prosodytest.PresenceFrom(j, xmpp.PresenceSubscribe)); err != nil {
			t.Fatal(err)
		}
		c.Approve(j)
		c.Subscribe(j)
	}

	// The storm. Scripted faults are taken in order, the global one first.
	const (
		global  = 500 * time.Millisecond
		perHold = 300 * time.Millisecond
		shorter = 200 * time.Millisecond
		window  = 500 * time.Millisecond // the bucket: 5 posts per channel
		perChat = 20
	)
	fake.SetBucket(postRoute, 5, window)
	fake.RateLimitGlobal(1, global)
	fake.RateLimit(postRoute, 3, perHold)
	fake.FailNext(postRoute, 2, http.StatusInternalServerError)
	fake.RateLimit(postRoute, 2, shorter)
	fake.FailNext(postRoute, 1, http.StatusServiceUnavailable)
	const scripted429s = 1 + 3 + 2
	perRoute := 3*perHold + 2*shorter

	start := time.Now()
	for i := range perChat {
		for _, ch := range chats {
			c.Send(&xmpp.Message{Header: xmpp.Header{To: ch.jid, Type: xmpp.MessageChat, ID: fmt.Sprintf("%s-%d", ch.name, i)},
				Body: fmt.Sprintf("%s %d", ch.name, i)})
		}
	}
	for _, ch := range chats {
		if err := fake.WaitUntil(ctx, func() bool { return len(fake.Messages(ch.dm)) >= perChat }); err != nil {
			t.Fatalf("%s: %d of %d messages arrived", ch.name, len(fake.Messages(ch.dm)), perChat)
		}
	}
	took := time.Since(start)

	for _, ch := range chats {
		got := fake.Messages(ch.dm)
		if len(got) != perChat {
			t.Errorf("%s: %d messages, want %d", ch.name, len(got), perChat)
		}
		for i, m := range got {
			if want := fmt.Sprintf("%s %d", ch.name, i); m.Content != want || m.AuthorID != alice.ID {
				t.Fatalf("%s: message %d is %q by %s, want %q by alice", ch.name, i, m.Content, m.AuthorID, want)
			}
		}
	}
	// The two chats post concurrently: a post of one chat already on its
	// way when the other's global 429 comes back reaches the fake during
	// the hold (Discord would answer it 429 too). At most one such post per
	// other chat; any more means a limit was not followed.
	inFlight := len(chats) - 1
	if n := fake.EarlyRequests(); n > inFlight {
		t.Errorf("%d requests while a limit held (at most %d in flight allowed)", n, inFlight)
	}
	if n := fake.RateLimited(); n < scripted429s || n > scripted429s+fake.EarlyRequests() {
		t.Errorf("%d answers were 429, want the %d scripted (plus %d early): the bucket's headers were not followed", n, scripted429s, fake.EarlyRequests())
	}
	// Lower bound: the global limit holds both chats, then the per-route
	// ones fall on one chat or the other, in order within each.
	least := global + perRoute/time.Duration(len(chats))
	// Upper bound: every wait one after the other, the bucket's windows
	// (20 posts, 5 per window) and the retries of the 5xx, with room for
	// a loaded machine.
	most := global + perRoute + (perChat/5)*window + 5*time.Second
	t.Logf("%d messages in %s (the limits ask for %s to %s)", perChat*len(chats), took.Round(time.Millisecond), least, global+perRoute+(perChat/5)*window)
	if took < least || took > most {
		t.Errorf("the storm took %s, want between %s and %s", took, least, most)
	}
}
