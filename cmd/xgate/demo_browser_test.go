package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// findChromium returns Debian's chromium, or skips (fails with
// XGATE_REQUIRE_CHROMIUM=1, as in CI).
func findChromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("XGATE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium not installed (XGATE_REQUIRE_CHROMIUM=1 requires it): apt-get install chromium")
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// The whole demo end to end: an XMPP client on the private Prosody and the
// playground in headless Chromium, as Linus, talk to each other through
// the real gateway; each sees the other's message arrive without asking.
func TestDemoPlaygroundTalksToXMPP(t *testing.T) {
	prosodytest.Require(t)
	bin := findChromium(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	info, done, out := runDemoUntilReady(t, ctx, demoOptions{domain: "slack.localhost", secret: "demo", dir: t.TempDir()})
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	wctx, wcancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer wcancel()

	// The XMPP side: accept Linus.
	c := prosodytest.Dial(wctx, t, info.c2s, info.user.Local(), info.user.Domain(), info.password)
	c.Send(&xmpp.Presence{})
	s, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		p, ok := s.(*xmpp.Presence)
		return ok && p.Type == xmpp.PresenceSubscribe && nick(p.Extra) == "Linus"
	})
	if err != nil {
		t.Fatalf("no offer from Linus: %v\n%s", err, out.String())
	}
	linus := s.Head().From.Bare()
	c.Approve(linus)
	contacts := map[string]jid.JID{}
	for _, name := range []string{"Hedy", demoPatNumber} {
		s, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
			p, ok := s.(*xmpp.Presence)
			return ok && p.Type == xmpp.PresenceSubscribe && nick(p.Extra) == name
		})
		if err != nil {
			t.Fatalf("no offer from %s: %v\n%s", name, err, out.String())
		}
		contacts[name] = s.Head().From.Bare()
		c.Approve(contacts[name])
	}

	// The browser side: the playground, acting as Linus.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(wctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	var linusID string
	if err := chromedp.Run(bctx,
		chromedp.Navigate(info.playground),
		chromedp.WaitVisible(`#conversations button.current`),
		pick("#person", "Linus", &linusID),
		chromedp.WaitVisible(`#title`),
	); err != nil {
		t.Fatalf("open the playground as Linus: %v", err)
	}

	// XMPP → the page, live.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: linus, Type: xmpp.MessageChat, ID: "b1"}, Body: "Linus, can you see this?"})
	if err := chromedp.Run(bctx,
		pageMessage("Linus, can you see this?"),
	); err != nil {
		t.Fatalf("the XMPP message did not appear in the playground: %v\n%s", err, out.String())
	}

	// The page → XMPP.
	if err := chromedp.Run(bctx, chromedp.SendKeys(`#text`, "Yes, from the playground"), chromedp.Click(`#send`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == linus && strings.Contains(m.Body, "Yes, from the playground")
	}); err != nil {
		t.Fatalf("the playground's message did not reach XMPP: %v\n%s", err, out.String())
	}

	// Discord, as Hedy: XMPP → the page; the page → XMPP, with typing
	// first (XEP-0085 composing) and a reaction (XEP-0444).
	hedy := contacts["Hedy"]
	var id string
	if err := chromedp.Run(bctx, pick("#network", "Discord", &id), chromedp.WaitVisible(`#conversations button.current`), pick("#person", "Hedy", &id)); err != nil {
		t.Fatalf("open the playground as Hedy: %v", err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: hedy, Type: xmpp.MessageChat, ID: "d1"}, Body: "Hedy, are you there?"})
	if err := chromedp.Run(bctx, pageMessage("Hedy, are you there?")); err != nil {
		t.Fatalf("the XMPP message did not appear on the Discord page: %v\n%s", err, out.String())
	}
	// The XMPP user's composing (XEP-0085) shows on the page.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: hedy, Type: xmpp.MessageChat}, Extra: []*xmpp.Element{xmpp.NewElement("http://jabber.org/protocol/chatstates", "composing")}})
	if err := chromedp.Run(bctx, chromedp.WaitVisible(`//p[@id="typing"][contains(text(), "You is typing")]`, chromedp.BySearch)); err != nil {
		t.Fatalf("the XMPP user's typing did not show on the page: %v\n%s", err, out.String())
	}
	if err := chromedp.Run(bctx, chromedp.SendKeys(`#text`, "Yes, on Discord")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == hedy && m.Body == "" && child(m, "http://jabber.org/protocol/chatstates", "composing") != nil
	}); err != nil {
		t.Fatalf("typing on the page did not show as composing: %v\n%s", err, out.String())
	}
	if err := chromedp.Run(bctx, chromedp.Click(`#send`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == hedy && m.Body == "Yes, on Discord"
	}); err != nil {
		t.Fatalf("the Discord page's message did not reach XMPP: %v\n%s", err, out.String())
	}
	// The page redraws on every change (Hedy answers meanwhile): find and
	// click the button in one go.
	var clicked bool
	if err := chromedp.Run(bctx, chromedp.Evaluate(`(() => { const m = [...document.querySelectorAll("#messages .message")].find((m) => m.querySelector(".text").textContent === "Hedy, are you there?");
		const b = m && m.querySelector('button[data-emoji="heart"]'); if (b) b.click(); return !!b; })()`, &clicked)); err != nil || !clicked {
		t.Fatalf("no ❤️ button on the XMPP message (%v)", err)
	}
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		x := (*xmpp.Element)(nil)
		if ok && m.From.Bare() == hedy {
			x = child(m, bridge.NSReactions, "reactions")
		}
		return x != nil && x.AttrValue("id") == "d1" && slices.ContainsFunc(x.Children(), func(r *xmpp.Element) bool { return r.Text() == "❤️" })
	}); err != nil {
		t.Fatalf("the Discord page's reaction did not reach XMPP: %v\n%s", err, out.String())
	}

	// SMS, as Pat: a text each way; no edit or reaction buttons.
	pat := contacts[demoPatNumber]
	if err := chromedp.Run(bctx, pick("#network", "SMS", &id), chromedp.WaitVisible(`#conversations button.current`), pick("#person", "Pat", &id)); err != nil {
		t.Fatalf("open the playground as Pat: %v", err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: pat, Type: xmpp.MessageChat, ID: "s1"}, Body: "Pat, a text from XMPP"})
	if err := chromedp.Run(bctx, pageMessage("Pat, a text from XMPP")); err != nil {
		t.Fatalf("the XMPP text did not appear on the SMS page: %v\n%s", err, out.String())
	}
	var buttons int
	if err := chromedp.Run(bctx, chromedp.Evaluate(`document.querySelectorAll("#messages button").length`, &buttons)); err != nil || buttons != 0 {
		t.Errorf("%d edit or reaction buttons on SMS (%v)", buttons, err)
	}
	if err := chromedp.Run(bctx, chromedp.SendKeys(`#text`, "Texting back from the playground"), chromedp.Click(`#send`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == pat && m.Body == "Texting back from the playground"
	}); err != nil {
		t.Fatalf("the SMS page's text did not reach XMPP: %v\n%s", err, out.String())
	}
}

// pick selects the first option of the select sel whose text starts with
// prefix, as a person choosing it would, and stores its value in *value.
func pick(sel, prefix string, value *string) chromedp.Action {
	// The options are filled in after the page loads or the network
	// changes: wait for the one wanted before choosing it.
	id := strings.TrimPrefix(sel, "#")
	option := `//select[@id=` + strconv.Quote(id) + `]/option[starts-with(normalize-space(.), ` + strconv.Quote(prefix) + `)]`
	return chromedp.Tasks{
		chromedp.WaitReady(option, chromedp.BySearch),
		chromedp.Evaluate(`(() => { const s = document.querySelector(`+strconv.Quote(sel)+`);
		const o = [...s.options].find((o) => o.textContent.startsWith(`+strconv.Quote(prefix)+`));
		s.value = o.value; s.dispatchEvent(new Event("change")); return o.value; })()`, value),
	}
}

// pageMessage waits until the page shows a message with this text.
func pageMessage(text string) chromedp.Action {
	return chromedp.WaitVisible(`//div[@class="message"]/span[@class="text"][text()=`+strconv.Quote(text)+`]`, chromedp.BySearch)
}
