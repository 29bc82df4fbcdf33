package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/xmpp"
)

// handleChatCommand runs a command sent as a chat message to the gateway
// JID, for clients without ad-hoc command support, and answers in chat.
func (rg *registrar) handleChatCommand(ctx context.Context, m *xmpp.Message) {
	text := strings.TrimSpace(m.Body)
	if text == "" || m.Type == xmpp.MessageError || m.Type == xmpp.MessageGroupchat {
		return
	}
	word, args, _ := strings.Cut(text, " ")
	word = strings.ToLower(strings.TrimPrefix(word, "/"))
	answer := func(s string) {
		rg.out.sendEphemeral(ctx, &xmpp.Message{Header: xmpp.Header{From: rg.domain, To: m.From, ID: rg.out.newID(), Type: xmpp.MessageChat}, Body: s})
	}
	if word == "help" || word == "?" {
		answer(rg.helpText(m))
		return
	}
	cmd, ok := rg.command(word, m.From)
	if !ok {
		if !rg.cfg.Access.Allowed(m.From) {
			answer("You are not allowed to use this gateway.")
			return
		}
		answer(fmt.Sprintf("Unknown command %q. Send \"help\" for the list.", echo(word)))
		return
	}
	if cmd.parse == nil {
		note, _, err := cmd.run(ctx, rg, m.From, nil)
		if err != nil {
			answer(userError(err).Text)
			return
		}
		answer(note)
		return
	}
	f, err := cmd.parse(rg, m.From, args)
	if err != nil {
		answer(userError(err).Text)
		return
	}
	note, _, err := cmd.run(ctx, rg, m.From, f)
	var next *nextStepError
	if errors.As(err, &next) {
		answer(nextStepText(next.Form))
		return
	}
	if err != nil {
		answer(userError(err).Text)
		return
	}
	answer(note)
}

// nextStepText tells a chat user how to go on with a registration.
func nextStepText(rf RegistrationForm) string {
	var names []string
	for _, fd := range rf.Fields {
		if fd.Type != FieldFixed {
			names = append(names, fd.Var+"=…")
		}
	}
	text := "One more step."
	if rf.Instructions != "" {
		text = "One more step: " + rf.Instructions
	}
	return text + "\nSend: register " + strings.Join(names, " ")
}

func (rg *registrar) helpText(m *xmpp.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s gateway (xgate %s). Commands:\n", rg.info.Name, rg.cfg.Version)
	for _, c := range rg.commandsFor(m.From) {
		fmt.Fprintf(&b, "• %s\n", c.help)
	}
	b.WriteString("• help: this text\n")
	if len(rg.info.Registration.Fields) > 0 {
		b.WriteString("\nRegistration fields: ")
		var names []string
		for _, f := range rg.info.Registration.Fields {
			if f.Type == FieldFixed {
				continue
			}
			d := f.Var
			if f.Label != "" {
				d += " (" + f.Label + ")"
			}
			names = append(names, d)
		}
		b.WriteString(strings.Join(names, ", "))
		b.WriteString(".\nNote: a chat command stays in your message history; the Register ad-hoc command does not.")
	}
	return b.String()
}

// echoRunes bounds what a reply repeats of what the user sent.
const echoRunes = 32

// echo returns a short prefix of user input to repeat in a reply, with an
// ellipsis when it was cut.
func echo(s string) string {
	n := 0
	for i := range s {
		if n == echoRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
