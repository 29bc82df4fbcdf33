package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/xmpp"
)

// The tour's Discord and SMS steps.

// talkToHedy: a message to Discord and Hedy's answer and reaction back, a
// correction and a reaction to Discord.
func (t *tour) talkToHedy(ctx context.Context) error {
	hedy, p := t.contacts["Hedy"], t.guild.person("Hedy")
	const hello = "Hello Hedy, this is XMPP"
	id, err := t.send(hedy, hello)
	if err != nil {
		return err
	}
	t.say("→", "Hedy", hello)
	posted, err := t.guild.fake.WaitMessage(ctx, p.dm, func(m discordfake.Message) bool { return m.AuthorID == t.guild.me.ID && m.Content == hello })
	if err != nil {
		return fmt.Errorf("the message did not reach Discord: %w", err)
	}
	t.ok("Discord has it in the DM with Hedy, sent by %s", t.guild.me.GlobalName)
	answer, err := t.expectFrom(ctx, hedy, func(m *xmpp.Message) bool { return strings.HasPrefix(m.Body, "Frequency hopping says:") })
	if err != nil {
		return fmt.Errorf("Hedy did not answer: %w", err)
	}
	t.say("←", "Hedy", answer.Body)
	t.ok("Hedy's answer arrived over XMPP")
	r, err := t.expectFrom(ctx, hedy, func(m *xmpp.Message) bool {
		x := child(m, bridge.NSReactions, "reactions")
		return x != nil && x.AttrValue("id") == id
	})
	if err != nil {
		return fmt.Errorf("Hedy's reaction did not arrive: %w", err)
	}
	t.ok("Hedy reacted %s to our message (XEP-0444)", child(r, bridge.NSReactions, "reactions").ChildText("", "reaction"))

	const corrected = "Hello Hedy, this is XMPP speaking"
	if _, err := t.send(hedy, corrected, xmpp.NewElement(bridge.NSCorrect, "replace", "id", id)); err != nil {
		return err
	}
	t.say("→", "Hedy", corrected+" (a correction, XEP-0308)")
	if _, err := t.guild.fake.WaitMessage(ctx, p.dm, func(m discordfake.Message) bool {
		return m.ID == posted.ID && m.Content == corrected && m.EditedTimestamp != ""
	}); err != nil {
		return fmt.Errorf("the correction did not edit the Discord message: %w", err)
	}
	t.ok("Discord shows our message edited")

	if _, err := t.send(hedy, "", xmpp.NewElement(bridge.NSReactions, "reactions", "id", answer.ID).Append(xmpp.TextElement("", "reaction", "👍"))); err != nil {
		return err
	}
	t.say("→", "Hedy", "👍 on her answer (XEP-0444)")
	if _, err := t.guild.fake.WaitMessage(ctx, p.dm, func(m discordfake.Message) bool {
		return m.AuthorID == p.user.ID && slices.ContainsFunc(m.Reactions, func(r discordfake.Reaction) bool {
			return r.Emoji == "👍" && slices.Contains(r.Users, t.guild.me.ID)
		})
	}); err != nil {
		return fmt.Errorf("the reaction did not reach Discord: %w", err)
	}
	t.ok("Discord shows 👍 from %s on Hedy's answer", t.guild.me.GlobalName)
	return nil
}

// alanCorrects: Alan answers, then edits his answer on Discord; the edit
// arrives as a correction.
func (t *tour) alanCorrects(ctx context.Context) error {
	alan := t.contacts["Alan"]
	const q = "Alan, can machines think?"
	if _, err := t.send(alan, q); err != nil {
		return err
	}
	t.say("→", "Alan", q)
	answer, err := t.expectFrom(ctx, alan, func(m *xmpp.Message) bool {
		return m.Body != "" && child(m, bridge.NSCorrect, "replace") == nil
	})
	if err != nil {
		return fmt.Errorf("Alan did not answer: %w", err)
	}
	t.say("←", "Alan", answer.Body)
	fix, err := t.expectFrom(ctx, alan, func(m *xmpp.Message) bool {
		x := child(m, bridge.NSCorrect, "replace")
		return x != nil && x.AttrValue("id") == answer.ID
	})
	if err != nil {
		return fmt.Errorf("Alan's edit did not arrive as a correction: %w", err)
	}
	t.say("←", "Alan", fix.Body+" (his edit, a correction)")
	t.ok("Alan's Discord edit arrived as a correction of his message (XEP-0308)")
	return nil
}

// textPat: a text to Pat's phone from the demo number, and Pat's answer.
// SMS has no edits nor reactions.
func (t *tour) textPat(ctx context.Context) error {
	pat := t.contacts[demoPatNumber]
	const hello = "Hi Pat, texting from XMPP"
	id, err := t.send(pat, hello)
	if err != nil {
		return err
	}
	t.say("→", "Pat", hello)
	var sent smsfake.Message
	err = waitForText(ctx, t.phones.fake, func(m smsfake.Message) bool {
		if m.From == demoMyNumber && m.To == demoPatNumber && m.Body == hello {
			sent = m
			return true
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("the text did not reach the SMS provider: %w", err)
	}
	t.ok("the provider sent it from %s to %s (%d segment)", sent.From, sent.To, sent.Segments)
	answer, err := t.expectFrom(ctx, pat, func(m *xmpp.Message) bool { return strings.HasPrefix(m.Body, "Pat here") })
	if err != nil {
		return fmt.Errorf("Pat did not answer: %w", err)
	}
	t.say("←", "Pat", answer.Body)
	t.ok("Pat's text arrived over XMPP")

	// SMS has no edits nor reactions: each comes back as an error on
	// the stanza that asked for it, and nothing more is texted.
	before := len(t.phones.fake.Messages())
	for _, x := range []struct {
		what string
		el   *xmpp.Element
	}{
		{"a correction", xmpp.NewElement(bridge.NSCorrect, "replace", "id", id)},
		{"a reaction", xmpp.NewElement(bridge.NSReactions, "reactions", "id", answer.ID).Append(xmpp.TextElement("", "reaction", "👍"))},
	} {
		body := ""
		if x.what == "a correction" {
			body = "Hi Pat, texting from XMPP!"
		}
		xid, err := t.send(pat, body, x.el)
		if err != nil {
			return err
		}
		t.say("→", "Pat", x.what)
		e, err := t.expectFrom(ctx, pat, func(m *xmpp.Message) bool { return m.Type == xmpp.MessageError && m.ID == xid })
		if err != nil {
			return fmt.Errorf("%s to an SMS contact was not refused: %w", x.what, err)
		}
		why := ""
		if e.Error != nil {
			why = e.Error.Text
		}
		t.ok("SMS cannot take %s: it came back as an error (%s)", x.what, why)
	}
	if n := len(t.phones.fake.Messages()); n != before {
		return fmt.Errorf("%d texts sent for a correction and a reaction", n-before)
	}
	return nil
}

// waitForText waits until the fake provider recorded a message that match
// accepts.
func waitForText(ctx context.Context, fake *smsfake.Server, match func(smsfake.Message) bool) error {
	for n := 1; ; n++ {
		ms, err := fake.WaitMessages(ctx, n)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ms, match) {
			return nil
		}
		n = len(ms)
	}
}
