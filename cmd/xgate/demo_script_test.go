package main

import (
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// `xgate demo --script` runs the tour through a real Prosody and exits 0,
// with a transcript of every step.
func TestDemoScript(t *testing.T) {
	prosodytest.Require(t)
	var stdout, stderr lockedBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, kinds: transportKinds}
	if code := c.main([]string{"demo", "--script", "-dir", t.TempDir()}); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	mustContain(t, stderr.String(),
		"ok   logged in as you@localhost",
		"→ Eliza: Hello Eliza, I am trying xgate\n",
		"ok   Slack has it in the DM with Eliza",
		"← Eliza: You said:",
		"ok   Eliza reacted 🤔 to our message",
		"ok   Slack shows our message edited",
		"ok   Slack shows :+1: from You on Eliza's answer",
		"ok   Ada's Slack edit arrived as a correction",
		"ok   Linus's Slack reaction arrived",
		"ok   Discord has it in the DM with Hedy",
		"← Hedy: Frequency hopping says: *Hello Hedy, this is XMPP*",
		"ok   Hedy reacted 📡 to our message",
		"ok   Discord shows our message edited",
		"ok   Discord shows 👍 from You on Hedy's answer",
		"ok   Alan's Discord edit arrived as a correction",
		"ok   the provider sent it from +12025550100 to +12025550123",
		"← Pat: Pat here, by text",
		"ok   SMS cannot take a correction: it came back as an error",
		"ok   SMS cannot take a reaction: it came back as an error",
		"Tour complete: 24 checks passed.")
}

// A step that does not happen fails the tour, and the command exits 1.
func TestDemoScriptFails(t *testing.T) {
	prosodytest.Require(t)
	defer func(p, s time.Duration) { adaPause, tourStepTimeout = p, s }(adaPause, tourStepTimeout)
	adaPause, tourStepTimeout = time.Hour, 3*time.Second // Ada never corrects herself in time
	var stdout, stderr lockedBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, kinds: transportKinds}
	if code := c.main([]string{"demo", "--script", "-dir", t.TempDir()}); code != exitFailure {
		t.Fatalf("exit %d, want %d:\n%s", code, exitFailure, stderr.String())
	}
	out := stderr.String()
	mustContain(t, out, "FAIL Ada's edit did not arrive as a correction", "xgate: tour: Ada's edit did not arrive")
	if strings.Contains(out, "Tour complete") {
		t.Errorf("a failed tour says it completed:\n%s", out)
	}
}

// The tour logs in with the private server's password, so it refuses
// -server.
func TestDemoScriptNeedsPrivateServer(t *testing.T) {
	var stdout, stderr lockedBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, kinds: transportKinds}
	if code := c.main([]string{"demo", "--script", "-server", "127.0.0.1:5347"}); code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	mustContain(t, stderr.String(), "--script runs on the demo's private Prosody: leave out -server")
}
