package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The scripted tour (xgate demo --script): the demo user, through a
// built-in XMPP client and the real host server, exchanges a message, an
// edit and a reaction each way with the workspace's people, and checks
// each step on both sides. It prints a transcript and fails at the first
// step that does not happen within tourStepTimeout.

// tourStepTimeout bounds each step; Ada's correction comes after adaPause.
var tourStepTimeout = 20 * time.Second

// errTourNeedsPrivateServer: the tour logs in as the demo user, whose
// password only the private server's demo knows.
var errTourNeedsPrivateServer = errors.New("demo: --script runs on the demo's private Prosody: leave out -server")

// tour is one run of the scripted tour.
type tour struct {
	out    io.Writer
	c      *prosodytest.Client
	ws     *demoWorkspace
	guild  *demoGuild
	phones *demoPhones
	// domains are the gateways' JIDs.
	domains []string
	steps   int
	// contacts maps the people's names (the nick of their subscription
	// request) to their JIDs.
	contacts map[string]jid.JID
}

// runTour logs in as the demo user on the private server and runs every
// step of the tour, printing a transcript to out.
func runTour(ctx context.Context, info demoInfo, ws *demoWorkspace, out io.Writer) error {
	fmt.Fprintf(out, "\nScripted tour: %s, through Prosody and xgate, with every network of the demo.\n\n", info.user)
	lctx, cancel := context.WithTimeout(ctx, tourStepTimeout)
	defer cancel()
	c, err := prosodytest.Connect(lctx, info.c2s, prosodytest.ClientConfig{User: info.user.Local(), Host: info.user.Domain(), Password: info.password, Resource: "tour"})
	if err != nil {
		return fmt.Errorf("tour: log in as %s: %w", info.user, err)
	}
	defer c.Close()
	t := &tour{out: out, c: c, ws: ws, guild: info.guild, phones: info.phones, domains: info.domains, contacts: map[string]jid.JID{}}
	t.ok("logged in as %s at %s", info.user, info.c2s)
	steps := []func(context.Context) error{t.acceptContacts, t.talkToEliza, t.adaCorrects, t.linusReacts}
	if t.guild != nil {
		steps = append(steps, t.talkToHedy, t.alanCorrects)
	}
	if t.phones != nil {
		steps = append(steps, t.textPat)
	}
	for _, step := range steps {
		sctx, cancel := context.WithTimeout(ctx, tourStepTimeout)
		err := step(sctx)
		cancel()
		if err != nil {
			fmt.Fprintf(out, "  FAIL %v\n", err)
			return fmt.Errorf("tour: %w", err)
		}
	}
	fmt.Fprintf(out, "\nTour complete: %d checks passed.\n", t.steps)
	return nil
}

func (t *tour) ok(format string, args ...any) {
	t.steps++
	fmt.Fprintf(t.out, "  ok   "+format+"\n", args...)
}

func (t *tour) say(arrow, who, text string) {
	fmt.Fprintf(t.out, "  %s %s: %s\n", arrow, who, text)
}

// person returns the demo person named name.
func (t *tour) person(name string) *demoPerson {
	for i := range t.ws.people {
		if t.ws.people[i].user.Profile.DisplayName == name {
			return &t.ws.people[i]
		}
	}
	panic("tour: no person " + name) // the workspace is built by newDemoWorkspace
}

// acceptContacts becomes available and accepts the people's contact offers.
func (t *tour) acceptContacts(ctx context.Context) error {
	if err := t.c.Send(&xmpp.Presence{}); err != nil {
		return err
	}
	names := []string{"Eliza", "Ada", "Linus"}
	if t.guild != nil {
		names = append(names, "Hedy", "Alan")
	}
	if t.phones != nil {
		names = append(names, demoPatNumber)
	}
	for _, name := range names {
		s, err := t.c.Expect(ctx, func(s xmpp.Stanza) bool {
			p, ok := s.(*xmpp.Presence)
			return ok && p.Type == xmpp.PresenceSubscribe && slices.Contains(t.domains, p.From.Domain()) && nick(p.Extra) == name
		})
		if err != nil {
			return fmt.Errorf("no contact offer from %s: %w", name, err)
		}
		from := s.Head().From.Bare()
		t.contacts[name] = from
		if err := t.c.Approve(from); err != nil {
			return err
		}
		if name == demoPatNumber {
			name = "Pat's phone, " + name + ","
		}
		t.ok("%s (%s) offered to be a contact: accepted", name, from)
	}
	return nil
}

// nick returns the XEP-0172 nickname among a stanza's extensions.
func nick(extra []*xmpp.Element) string {
	for _, x := range extra {
		if x.Name.Local == "nick" {
			return x.Text()
		}
	}
	return ""
}

// send sends a chat message to a person and returns its id.
func (t *tour) send(to jid.JID, body string, extra ...*xmpp.Element) (string, error) {
	id := t.c.NewID()
	return id, t.c.Send(&xmpp.Message{Header: xmpp.Header{To: to, Type: xmpp.MessageChat, ID: id}, Body: body, Extra: extra})
}

// expectFrom waits for a message from a contact that match accepts.
func (t *tour) expectFrom(ctx context.Context, from jid.JID, match func(*xmpp.Message) bool) (*xmpp.Message, error) {
	s, err := t.c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == from && match(m)
	})
	if err != nil {
		return nil, err
	}
	return s.(*xmpp.Message), nil
}

// child returns m's extension space/local, or nil.
func child(m *xmpp.Message, space, local string) *xmpp.Element {
	for _, x := range m.Extra {
		if x.Name.Space == space && x.Name.Local == local {
			return x
		}
	}
	return nil
}

// slackMessage waits until the person's conversation has a message that
// match accepts.
func (t *tour) slackMessage(ctx context.Context, p *demoPerson, match func(slackfake.Message) bool) (slackfake.Message, error) {
	var found slackfake.Message
	err := t.ws.fake.WaitUntil(ctx, func() bool {
		for _, m := range t.ws.fake.Messages(p.im) {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found, err
}

// talkToEliza: a message to Slack and her answer back, her reaction,
// a correction to Slack, and a reaction to Slack.
func (t *tour) talkToEliza(ctx context.Context) error {
	eliza, p := t.contacts["Eliza"], t.person("Eliza")
	const hello = "Hello Eliza, I am trying xgate"
	id, err := t.send(eliza, hello)
	if err != nil {
		return err
	}
	t.say("→", "Eliza", hello)
	posted, err := t.slackMessage(ctx, p, func(m slackfake.Message) bool { return m.User == t.ws.me.ID && m.Text == hello })
	if err != nil {
		return fmt.Errorf("the message did not reach Slack: %w", err)
	}
	t.ok("Slack has it in the DM with Eliza, posted by %s", t.ws.me.Profile.DisplayName)

	answer, err := t.expectFrom(ctx, eliza, func(m *xmpp.Message) bool { return strings.HasPrefix(m.Body, "You said:") })
	if err != nil {
		return fmt.Errorf("Eliza did not answer: %w", err)
	}
	t.say("←", "Eliza", answer.Body)
	t.ok("Eliza's answer arrived over XMPP")
	r, err := t.expectFrom(ctx, eliza, func(m *xmpp.Message) bool {
		x := child(m, bridge.NSReactions, "reactions")
		return x != nil && x.AttrValue("id") == id
	})
	if err != nil {
		return fmt.Errorf("Eliza's reaction did not arrive: %w", err)
	}
	t.ok("Eliza reacted %s to our message (XEP-0444)", child(r, bridge.NSReactions, "reactions").ChildText("", "reaction"))

	const corrected = "Hello Eliza, I am trying xgate today"
	if _, err := t.send(eliza, corrected, xmpp.NewElement(bridge.NSCorrect, "replace", "id", id)); err != nil {
		return err
	}
	t.say("→", "Eliza", corrected+" (a correction, XEP-0308)")
	if _, err := t.slackMessage(ctx, p, func(m slackfake.Message) bool {
		return m.TS == posted.TS && m.Text == corrected && m.EditedTS != ""
	}); err != nil {
		return fmt.Errorf("the correction did not edit the Slack message: %w", err)
	}
	t.ok("Slack shows our message edited")

	if _, err := t.send(eliza, "", xmpp.NewElement(bridge.NSReactions, "reactions", "id", answer.ID).Append(xmpp.TextElement("", "reaction", "👍"))); err != nil {
		return err
	}
	t.say("→", "Eliza", "👍 on her answer (XEP-0444)")
	if _, err := t.slackMessage(ctx, p, func(m slackfake.Message) bool {
		return m.User == p.user.ID && strings.HasPrefix(m.Text, "You said:") && slices.ContainsFunc(m.Reactions, func(r slackfake.Reaction) bool {
			return r.Name == "+1" && slices.Contains(r.Users, t.ws.me.ID)
		})
	}); err != nil {
		return fmt.Errorf("the reaction did not reach Slack: %w", err)
	}
	t.ok("Slack shows :+1: from %s on Eliza's answer", t.ws.me.Profile.DisplayName)
	return nil
}

// adaCorrects: Ada answers, then edits her answer on Slack; the edit
// arrives as a correction of the message she sent.
func (t *tour) adaCorrects(ctx context.Context) error {
	ada := t.contacts["Ada"]
	const q = "Ada, what does the Analytical Engine do?"
	if _, err := t.send(ada, q); err != nil {
		return err
	}
	t.say("→", "Ada", q)
	answer, err := t.expectFrom(ctx, ada, func(m *xmpp.Message) bool {
		return m.Body != "" && child(m, bridge.NSCorrect, "replace") == nil
	})
	if err != nil {
		return fmt.Errorf("Ada did not answer: %w", err)
	}
	t.say("←", "Ada", answer.Body)
	fix, err := t.expectFrom(ctx, ada, func(m *xmpp.Message) bool {
		x := child(m, bridge.NSCorrect, "replace")
		return x != nil && x.AttrValue("id") == answer.ID
	})
	if err != nil {
		return fmt.Errorf("Ada's edit did not arrive as a correction: %w", err)
	}
	t.say("←", "Ada", fix.Body+" (her edit, a correction)")
	t.ok("Ada's Slack edit arrived as a correction of her message (XEP-0308)")
	return nil
}

// linusReacts: Linus reacts on Slack to what we send him.
func (t *tour) linusReacts(ctx context.Context) error {
	linus := t.contacts["Linus"]
	const q = "Linus, shall we ship it?"
	id, err := t.send(linus, q)
	if err != nil {
		return err
	}
	t.say("→", "Linus", q)
	r, err := t.expectFrom(ctx, linus, func(m *xmpp.Message) bool {
		x := child(m, bridge.NSReactions, "reactions")
		return x != nil && x.AttrValue("id") == id
	})
	if err != nil {
		return fmt.Errorf("Linus's reaction did not arrive: %w", err)
	}
	t.say("←", "Linus", "reacted "+child(r, bridge.NSReactions, "reactions").ChildText("", "reaction"))
	t.ok("Linus's Slack reaction arrived as a reaction to our message (XEP-0444)")
	return nil
}
