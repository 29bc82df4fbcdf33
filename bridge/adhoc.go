package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// adhocSessionTTL bounds how long a multi-stage command waits for its form.
const adhocSessionTTL = 10 * time.Minute

// adhocSession is a XEP-0050 command waiting for its form.
type adhocSession struct {
	cmd     *command
	user    jid.JID // full JID that started it
	expires time.Time
}

// adhocSessions holds the commands in progress.
type adhocSessions struct {
	mu sync.Mutex
	m  map[string]adhocSession
}

func (s *adhocSessions) put(id string, as adhocSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	s.m[id] = as
}

func (s *adhocSessions) take(id string, user jid.JID) (adhocSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	as, ok := s.m[id]
	if !ok || as.user != user || time.Now().After(as.expires) {
		return adhocSession{}, false
	}
	delete(s.m, id)
	return as, true
}

func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// handleCommand implements XEP-0050 execution.
func (rg *registrar) handleCommand(ctx context.Context, iq *xmpp.IQ) {
	p := iq.Payload
	node := p.AttrValue("node")
	action := p.AttrValue("action")
	sid := p.AttrValue("sessionid")
	cmd, ok := rg.command(node, iq.From)
	if !ok {
		rg.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, "No such command"))
		return
	}
	reply := func(status, sid string, children ...*xmpp.Element) {
		el := xmpp.NewElement(NSCommands, "command", "node", node, "sessionid", sid, "status", status)
		rg.out.reply(ctx, iq, el.Append(children...))
	}
	if sid == "" {
		// A new execution.
		if cmd.form == nil {
			rg.finishCommand(ctx, iq, cmd, nil, newSessionID(), reply)
			return
		}
		sid = newSessionID()
		rg.adhocs.put(sid, adhocSession{cmd: cmd, user: iq.From, expires: time.Now().Add(adhocSessionTTL)})
		actions := xmpp.NewElement("", "actions", "execute", "complete").Append(xmpp.NewElement("", "complete"))
		reply("executing", sid, actions, cmd.form(rg, iq.From).Element())
		return
	}
	as, ok := rg.adhocs.take(sid, iq.From)
	if !ok || as.cmd != cmd {
		e := xmpp.NewStanzaError(xmpp.CondBadRequest, "Unknown or expired command session")
		e.App = xmpp.NewElement(NSCommands, "bad-sessionid")
		rg.out.replyError(ctx, iq, e)
		return
	}
	if action == "cancel" {
		reply("canceled", sid)
		return
	}
	x := p.Child(form.NS, "x")
	if x == nil {
		e := xmpp.NewStanzaError(xmpp.CondBadRequest, "The command needs its form")
		e.App = xmpp.NewElement(NSCommands, "bad-payload")
		rg.out.replyError(ctx, iq, e)
		return
	}
	sub, err := form.Parse(x)
	if err != nil {
		e := xmpp.NewStanzaError(xmpp.CondBadRequest, err.Error())
		e.App = xmpp.NewElement(NSCommands, "bad-payload")
		rg.out.replyError(ctx, iq, e)
		return
	}
	rg.finishCommand(ctx, iq, cmd, sub, sid, reply)
}

// finishCommand runs a command and completes it with a note, or, for a
// registration that needs another step, asks for the next form in the
// same session sid. Failures the
// user can act on (a bad token, a missing field) complete with an error
// note rather than an iq error, so every client shows them.
func (rg *registrar) finishCommand(ctx context.Context, iq *xmpp.IQ, cmd *command, sub *form.Form, sid string, reply func(status, sid string, children ...*xmpp.Element)) {
	note, result, err := cmd.run(ctx, rg, iq.From, sub)
	var next *nextStepError
	if errors.As(err, &next) {
		// A multi-step registration: the same session goes on with the
		// next form.
		rg.adhocs.put(sid, adhocSession{cmd: cmd, user: iq.From, expires: time.Now().Add(adhocSessionTTL)})
		actions := xmpp.NewElement("", "actions", "execute", "complete").Append(xmpp.NewElement("", "complete"))
		reply("executing", sid, actions, dataForm(next.Form, rg.info.Name).Element())
		return
	}
	if err != nil {
		rg.log.Info("command failed", "command", cmd.node, "user", iq.From.Bare(), "err", err)
		reply("completed", sid, xmpp.TextElement("", "note", userError(err).Text).SetAttr("type", "error"))
		return
	}
	children := []*xmpp.Element{xmpp.TextElement("", "note", note).SetAttr("type", "info")}
	if result != nil {
		children = append(children, result.Element())
	}
	reply("completed", sid, children...)
}
