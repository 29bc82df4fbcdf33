package playground_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xgate-im/xgate/internal/playground"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// requireChromiumEnv turns a missing chromium into a failure (CI sets it).
const requireChromiumEnv = "XGATE_REQUIRE_CHROMIUM"

// chromium returns Debian's chromium, or skips the test without it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireChromiumEnv) == "1" {
		t.Fatalf("chromium not installed (%s=1 requires it): apt-get install chromium", requireChromiumEnv)
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// workspace is a fake Slack workspace: the XMPP user's own Slack identity
// (me, whose messages the gateway posts) and two people to act as.
type workspace struct {
	fake           *slackfake.Server
	me, eliza, ada slackfake.User
	elizaIM, adaIM string
	playground     *playground.Server
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := &workspace{fake: slackfake.New()}
	t.Cleanup(w.fake.Close)
	team := w.fake.CreateTeam("Demo Workspace")
	w.me = w.fake.CreateUser(team.ID, slackfake.UserSpec{Name: "you", RealName: "You", DisplayName: "You"})
	w.eliza = w.fake.CreateUser(team.ID, slackfake.UserSpec{Name: "eliza", RealName: "Eliza Weizenbaum", DisplayName: "Eliza", Title: "Therapist"})
	w.ada = w.fake.CreateUser(team.ID, slackfake.UserSpec{Name: "ada", RealName: "Ada Lovelace", DisplayName: "Ada"})
	w.elizaIM = w.fake.OpenIM(team.ID, w.me.ID, w.eliza.ID)
	w.adaIM = w.fake.OpenIM(team.ID, w.me.ID, w.ada.ID)
	w.playground = playground.New(playground.NewSlack(w.fake, []string{w.eliza.ID, w.ada.ID}, []string{w.elizaIM, w.adaIM}))
	return w
}

// The page in headless Chromium: act as Eliza (send, edit, react), and see
// what the XMPP user sends appear without reloading.
func TestPlaygroundInChromium(t *testing.T) {
	bin := chromium(t)
	w := newWorkspace(t)
	srv := httptest.NewServer(w.playground)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFake := func(what string, cond func() bool) {
		t.Helper()
		if err := w.fake.WaitUntil(ctx, cond); err != nil {
			t.Fatalf("%s: %v (messages %+v)", what, err, w.fake.Messages(w.elizaIM))
		}
	}
	find := func(conv, text string) (slackfake.Message, bool) {
		for _, m := range w.fake.Messages(conv) {
			if m.Text == text {
				return m, true
			}
		}
		return slackfake.Message{}, false
	}

	// Eliza is the first identity; her conversation with "You" opens.
	var title string
	run("open the page",
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible(`#conversations button[data-id="`+w.elizaIM+`"].current`),
		chromedp.Text(`#title`, &title))
	if title != "You" {
		t.Errorf("conversation title %q, want You", title)
	}

	// Send as Eliza.
	run("send", chromedp.SendKeys(`#text`, "hello from the browser"), chromedp.Click(`#send`))
	var sent slackfake.Message
	waitFake("Eliza's message in the workspace", func() bool {
		m, ok := find(w.elizaIM, "hello from the browser")
		sent = m
		return ok && m.User == w.eliza.ID
	})

	// Edit it.
	run("edit",
		chromedp.WaitVisible(`.message[data-id="`+sent.TS+`"] button.edit`),
		chromedp.Click(`.message[data-id="`+sent.TS+`"] button.edit`),
		chromedp.Evaluate(`document.querySelector("#text").value = ""`, nil),
		chromedp.SendKeys(`#text`, "hello, edited"),
		chromedp.Click(`#send`))
	waitFake("the edit", func() bool {
		m, ok := find(w.elizaIM, "hello, edited")
		return ok && m.TS == sent.TS && m.EditedTS != ""
	})
	run("edit shown", chromedp.WaitVisible(`.message[data-id="`+sent.TS+`"] .edited`))

	// What the XMPP user sends (the gateway posts it as "You") appears live.
	ts := w.fake.Post(w.me.ID, w.elizaIM, "sent from XMPP")
	var text string
	run("live message",
		chromedp.WaitVisible(`.message[data-id="`+ts+`"]`),
		chromedp.Text(`.message[data-id="`+ts+`"] .text`, &text))
	if text != "sent from XMPP" {
		t.Errorf("live message %q", text)
	}

	// React to it as Eliza.
	run("react", chromedp.Click(`.message[data-id="`+ts+`"] button.react[data-emoji="+1"]`))
	waitFake("the reaction", func() bool {
		m, _ := find(w.elizaIM, "sent from XMPP")
		return len(m.Reactions) == 1 && m.Reactions[0].Name == "+1" && len(m.Reactions[0].Users) == 1 && m.Reactions[0].Users[0] == w.eliza.ID
	})
	run("reaction shown", chromedp.WaitVisible(`.message[data-id="`+ts+`"] .reactions span[data-emoji="+1"]`))

	// Switch to Ada: her own conversation, without Eliza's messages.
	run("act as Ada",
		chromedp.Evaluate(`(() => { const s = document.querySelector("#person"); s.value = "`+w.ada.ID+`"; s.dispatchEvent(new Event("change")); })()`, nil),
		chromedp.WaitVisible(`#conversations button[data-id="`+w.adaIM+`"].current`))
	var n int
	run("Ada's messages", chromedp.Evaluate(`document.querySelectorAll("#messages .message").length`, &n))
	if n != 0 {
		t.Errorf("Ada sees %d messages in a new conversation", n)
	}
}
