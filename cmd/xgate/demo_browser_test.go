package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xgate-im/xgate/xmpp"
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
		chromedp.Evaluate(`(() => { const s = document.querySelector("#person");
			const o = [...s.options].find((o) => o.textContent.startsWith("Linus"));
			s.value = o.value; s.dispatchEvent(new Event("change")); return o.value; })()`, &linusID),
		chromedp.WaitVisible(`#title`),
	); err != nil {
		t.Fatalf("open the playground as Linus: %v", err)
	}

	// XMPP → the page, live.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: linus, Type: xmpp.MessageChat, ID: "b1"}, Body: "Linus, can you see this?"})
	if err := chromedp.Run(bctx,
		chromedp.WaitVisible(`//div[@class="message"]/span[@class="text"][text()="Linus, can you see this?"]`, chromedp.BySearch),
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
}
