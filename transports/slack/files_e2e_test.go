package slack_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestFileRehostedThroughProsody: a file Bob shares in Slack reaches the
// XMPP user as a link on the host server's upload service (Prosody's
// mod_http_file_share), fetched from url_private with alice's token and
// served without any Slack login.
func TestFileRehostedThroughProsody(t *testing.T) {
	fake := slackfake.New(slackfake.WithAckTimeout(500 * time.Millisecond))
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice", DisplayName: "Alice"})
	bob := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "bob", DisplayName: "Bob"})
	im := fake.OpenIM(team.ID, alice.ID, bob.ID)
	token := fake.IssueUserToken(team.ID, alice.ID)
	bobToken := fake.IssueUserToken(team.ID, bob.ID)

	e := startE2EOn(t, prosodytest.Options{Upload: "upload.localhost"}, fake, slack.Config{
		APIURL: fake.APIURL(), AppToken: fake.AppToken(), PostRate: 1000, PostBurst: 1000,
	})
	c := e.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	bobJID := jid.MustParse(slack.ContactLocalpart(slack.MakeUserID(team.ID, bob.ID)) + "@" + gwDomain)
	c.Send(&xmpp.Presence{})
	register(t, ctx, c, token)
	accept(t, ctx, c, gw, bobJID)

	// Bob shares a file in the DM from his own client, through Slack's
	// Web API.
	report := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("quarterly numbers\n"), 300)...)
	api := slackgo.New(bobToken, slackgo.OptionAPIURL(fake.APIURL()))
	if _, err := api.UploadFileContext(ctx, slackgo.UploadFileParameters{
		Reader: bytes.NewReader(report), FileSize: len(report), Filename: "report.pdf", Title: "Report", Channel: im,
	}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Expect(ctx, messageFrom(bobJID, func(string) bool { return true }))
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
	uploads := "http://" + e.p.HTTPAddr() + "/"
	if !strings.HasPrefix(oob, uploads) || !strings.HasSuffix(m.Body, oob) || strings.Contains(m.Body, fake.URL()) {
		t.Fatalf("message %s, want a link on %s and no Slack link; prosody log:\n%s", m.Element(), uploads, e.p.LogTail(20))
	}
	resp, err := http.Get(oob)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, report) {
		t.Fatalf("GET %s: %s, %d bytes, want the %d of the report", oob, resp.Status, len(got), len(report))
	}
}
