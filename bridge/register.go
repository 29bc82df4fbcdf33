package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// registrar handles registration (XEP-0077, XEP-0100 address
// translation) and the gateway's commands (XEP-0050 ad-hoc and chat
// commands).
type registrar struct {
	cfg      Config
	info     Info
	tr       Transport
	db       *store.DB
	domain   jid.JID
	accounts *accounts
	roster   *roster
	contacts *contactMap
	out      *toXMPP
	metrics  *Metrics
	log      *slog.Logger
	adhocs   *adhocSessions
	pending  registrations
	// extra are the transport's admin commands (host.go).
	extra []*command
	// started is when the gateway was made, for the statistics command.
	started time.Time
}

// registrationForm is the form the user fills in now, as a data form.
func (rg *registrar) registrationForm(user jid.JID) *form.Form {
	return dataForm(rg.currentForm(user), rg.info.Name)
}

// dataForm turns a registration form into a data form.
func dataForm(rf RegistrationForm, network string) *form.Form {
	f := &form.Form{Type: form.TypeForm, Title: rf.Title}
	if f.Title == "" {
		f.Title = "Register with " + network
	}
	if rf.Instructions != "" {
		f.Instructions = []string{rf.Instructions}
	}
	f.Fields = append(f.Fields, form.Field{Var: form.FormTypeVar, Type: form.FieldHidden, Values: []string{NSRegister}})
	for _, fd := range rf.Fields {
		ff := form.Field{Var: fd.Var, Label: fd.Label, Desc: fd.Desc, Type: form.FieldType(fd.Type), Required: fd.Required}
		if fd.Default != "" {
			ff.Values = []string{fd.Default}
		}
		for _, o := range fd.Options {
			ff.Options = append(ff.Options, form.Option{Label: o.Label, Value: o.Value})
		}
		f.Fields = append(f.Fields, ff)
	}
	return f
}

// formValues extracts a form's fields from a submitted form, with
// defaults for omitted optional fields.
func formValues(rf RegistrationForm, sub *form.Form) map[string]string {
	vals := map[string]string{}
	for _, fd := range rf.Fields {
		if fd.Type == FieldFixed {
			continue
		}
		v := strings.TrimSpace(strings.Join(sub.Values(fd.Var), "\n"))
		if v == "" {
			v = fd.Default
		}
		vals[fd.Var] = v
	}
	return vals
}

// register checks values with the transport (every value submitted so
// far, for a multi-step registration: it returns a *nextStepError while the
// network needs more), stores the account and logs it in. Registering an account that exists replaces its credentials (this
// is how a logged-out user logs in again).
func (rg *registrar) register(ctx context.Context, user jid.JID, values map[string]string) (AccountData, error) {
	user = user.Bare()
	if !rg.cfg.Access.Allowed(user) {
		return AccountData{}, ErrNotAllowed
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var data AccountData
	var err error
	if ms, ok := rg.tr.(MultiStepRegistrar); ok {
		var next *RegistrationForm
		data, next, err = ms.RegisterStep(rctx, values)
		if err == nil && next != nil {
			return AccountData{}, &nextStepError{Form: *next}
		}
	} else {
		data, err = rg.tr.Register(rctx, values)
	}
	if err != nil {
		return AccountData{}, err
	}
	if data.ID == "" {
		return AccountData{}, fmt.Errorf("bridge: transport returned an account without ID")
	}
	key := store.AccountKey{User: user.String(), Transport: rg.cfg.Name, Remote: string(data.ID)}
	_, err = rg.db.GetAccount(key)
	isNew := errors.Is(err, store.ErrNotFound)
	if err := storeAccount(rg.db, rg.cfg.Name, user, data); err != nil {
		return AccountData{}, err
	}
	a, err := rg.db.GetAccount(key)
	if err != nil {
		return AccountData{}, fmt.Errorf("bridge: read account: %w", err)
	}
	rg.metrics.registrations.Add(1)
	rg.log.Info("registered", "user", user, "account", data.ID, "new", isNew)
	if err := rg.accounts.start(ctx, a); err != nil {
		return AccountData{}, err
	}
	// XEP-0100 §4.1.1: the gateway asks to be in the user's roster.
	_ = rg.out.send(ctx, &xmpp.Presence{Header: xmpp.Header{From: rg.domain, To: user, Type: xmpp.PresenceSubscribe}})
	return data, nil
}

// Provision stores an account for a user as if they had registered it on
// the gateway instance named instance: for provisioning tools and the demo.
// The gateway logs it in when it starts (or at once if it runs). data is
// what the transport's Register returned.
func Provision(db *store.DB, instance string, user jid.JID, data AccountData) error {
	if err := storeAccount(db, instance, user, data); err != nil {
		return err
	}
	// The user did not subscribe to the gateway as registering does: it
	// asks, once, when the account first logs in.
	if err := db.KVPut(askGatewayNS, askGatewayKey(instance, user), []byte{1}); err != nil {
		return fmt.Errorf("bridge: provision: %w", err)
	}
	return nil
}

// assign stores data as an account of user (bare), as an administrator
// assigned it (Host.Assign): like Provision, and logged in at once when
// the gateway runs.
func (rg *registrar) assign(ctx context.Context, user jid.JID, data AccountData) error {
	if err := Provision(rg.db, rg.cfg.Name, user, data); err != nil {
		return err
	}
	if !rg.accounts.life.running() {
		return nil
	}
	a, err := rg.db.GetAccount(store.AccountKey{User: user.String(), Transport: rg.cfg.Name, Remote: string(data.ID)})
	if err != nil {
		return fmt.Errorf("bridge: read account: %w", err)
	}
	if err := rg.accounts.start(ctx, a); err != nil {
		return err
	}
	// XEP-0100 §4.1.1: the gateway asks to be in the user's roster.
	_ = rg.out.send(ctx, &xmpp.Presence{Header: xmpp.Header{From: rg.domain, To: user, Type: xmpp.PresenceSubscribe}})
	return nil
}

// storeAccount stores a registered account.
func storeAccount(db *store.DB, instance string, user jid.JID, data AccountData) error {
	if data.ID == "" {
		return fmt.Errorf("bridge: provision: account without ID")
	}
	settings := maps.Clone(data.Settings)
	if settings == nil {
		settings = map[string]string{}
	}
	settings[settingName] = data.Name
	a := store.Account{
		AccountKey: store.AccountKey{User: user.Bare().String(), Transport: instance, Remote: string(data.ID)},
		Settings:   settings,
		Secrets:    maps.Clone(data.Secrets),
	}
	if err := db.PutAccount(a); err != nil {
		return fmt.Errorf("bridge: provision: %w", err)
	}
	return nil
}

// askGatewayNS is the KV namespace of the users (provisioned, not
// registered) whom the gateway still has to ask for a subscription.
const askGatewayNS = "askgw"

func askGatewayKey(instance string, user jid.JID) string {
	return instance + "/" + user.Bare().String()
}

// askGatewayOnce sends a provisioned user the gateway's subscription
// request (XEP-0100 §4.1.1, as registering does) the first time one of
// their accounts logs in.
func (ro *roster) askGatewayOnce(ctx context.Context, user jid.JID) {
	k := askGatewayKey(ro.name, user)
	if _, err := ro.db.KVGet(askGatewayNS, k); err != nil {
		return
	}
	if err := ro.out.send(ctx, &xmpp.Presence{Header: xmpp.Header{From: ro.domain, To: user.Bare(), Type: xmpp.PresenceSubscribe}}); err != nil {
		ro.log.Warn("asking for the gateway subscription", "user", user, "err", err)
		return
	}
	if err := ro.db.KVDelete(askGatewayNS, k); err != nil && !errors.Is(err, store.ErrNotFound) {
		ro.log.Error("storing the gateway subscription request", "user", user, "err", err)
	}
}

// unregister removes a user's account (remote == "") or all of them, and,
// when none remain, the gateway and its contacts from the user's roster.
func (rg *registrar) unregister(ctx context.Context, user jid.JID, remote AccountID) (int, error) {
	user = user.Bare()
	accts, err := rg.db.UserAccounts(rg.cfg.Name, user.String())
	if err != nil {
		return 0, fmt.Errorf("bridge: list accounts: %w", err)
	}
	removed := 0
	for _, a := range accts {
		if remote != "" && a.Remote != string(remote) {
			continue
		}
		rg.accounts.stop(a.AccountKey)
		if err := rg.db.DeleteAccount(a.AccountKey); err != nil && !errors.Is(err, store.ErrNotFound) {
			return removed, fmt.Errorf("bridge: delete account: %w", err)
		}
		removed++
	}
	if removed == 0 {
		return 0, ErrNotRegistered
	}
	rg.metrics.unregistrations.Add(1)
	rg.log.Info("unregistered", "user", user, "accounts", removed)
	if removed < len(accts) {
		rg.roster.announceGateway(ctx, user)
		return removed, nil
	}
	items, err := rg.db.Roster(user.String(), rg.cfg.Name)
	if err != nil {
		return removed, fmt.Errorf("bridge: read roster: %w", err)
	}
	for _, it := range items {
		c, err := jid.Parse(it.Contact)
		if err == nil {
			for _, t := range []string{xmpp.PresenceUnsubscribe, xmpp.PresenceUnsubscribed} {
				rg.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: c, To: user, Type: t}})
			}
		}
		if err := rg.db.DeleteRosterItem(user.String(), rg.cfg.Name, it.Contact); err != nil && !errors.Is(err, store.ErrNotFound) {
			rg.log.Error("deleting roster item", "err", err)
		}
	}
	for _, t := range []string{xmpp.PresenceUnavailable, xmpp.PresenceUnsubscribe, xmpp.PresenceUnsubscribed} {
		rg.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: rg.domain, To: user, Type: t}})
	}
	return removed, nil
}

// userError turns a registration or command failure into a stanza error
// with a sentence the user can act on.
func userError(err error) *xmpp.StanzaError {
	var ve *form.ValidationError
	var next *nextStepError
	var off *accountsOffError
	switch {
	case errors.As(err, &next):
		// XEP-0077 has no second step: the user asks for the form again
		// and gets the next one.
		text := "One more step: ask for the registration form again and fill in the next one."
		if next.Form.Instructions != "" {
			text = "One more step: " + next.Form.Instructions + " Ask for the registration form again to continue."
		}
		return xmpp.NewStanzaError(xmpp.CondNotAcceptable, text)
	case errors.As(err, &ve):
		return xmpp.NewStanzaError(xmpp.CondNotAcceptable, ve.Error())
	case errors.Is(err, ErrNotAllowed):
		return xmpp.NewStanzaError(xmpp.CondForbidden, "You are not allowed to use this gateway.")
	case errors.As(err, &off):
		return xmpp.NewStanzaError(xmpp.CondRecipientUnavailable, off.text)
	case errors.Is(err, ErrNotRegistered):
		return xmpp.NewStanzaError(xmpp.CondRegistrationRequired, "You are not registered with this gateway.")
	case errors.Is(err, ErrAuth):
		return xmpp.NewStanzaError(xmpp.CondNotAuthorized, cleanError(err))
	case errors.Is(err, ErrInvalidInput):
		return xmpp.NewStanzaError(xmpp.CondNotAcceptable, cleanError(err))
	case errors.Is(err, ErrTemporary), errors.Is(err, context.DeadlineExceeded):
		return xmpp.NewStanzaError(xmpp.CondRemoteServerTimeout, "The network did not answer in time; try again later.")
	case errors.Is(err, ErrNotFound):
		return xmpp.NewStanzaError(xmpp.CondItemNotFound, cleanError(err))
	}
	return xmpp.NewStanzaError(xmpp.CondInternalServerError, "Something went wrong on the gateway; the administrator can find details in its log.")
}

// cleanError drops the package prefixes of an error chain, keeping the
// readable part.
func cleanError(err error) string {
	s := err.Error()
	for _, p := range []string{"bridge: ", "slack: ", "discord: ", "sms: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

// handleRegisterIQ implements XEP-0077 with a data form.
func (rg *registrar) handleRegisterIQ(ctx context.Context, iq *xmpp.IQ) {
	user := iq.From.Bare()
	if iq.Type == xmpp.IQGet {
		if !rg.cfg.Access.Allowed(user) {
			rg.out.replyError(ctx, iq, userError(ErrNotAllowed))
			return
		}
		q := xmpp.NewElement(NSRegister, "query")
		f := rg.registrationForm(user)
		if instr := rg.currentForm(user).Instructions; instr != "" {
			q.Append(xmpp.TextElement("", "instructions", instr))
		} else {
			q.Append(xmpp.TextElement("", "instructions", "Fill in the form to add a "+rg.info.Name+" account."))
		}
		if accts, _ := rg.db.UserAccounts(rg.cfg.Name, user.String()); len(accts) > 0 {
			q.Append(xmpp.NewElement("", "registered"))
		}
		rg.out.reply(ctx, iq, q.Append(f.Element()))
		return
	}
	if iq.Payload.Child("", "remove") != nil {
		if _, err := rg.unregister(ctx, user, ""); err != nil {
			rg.out.replyError(ctx, iq, userError(err))
			return
		}
		rg.out.reply(ctx, iq, nil)
		return
	}
	x := iq.Payload.Child(form.NS, "x")
	if x == nil {
		rg.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondBadRequest, "Registration needs the data form (XEP-0004); legacy fields are not supported."))
		return
	}
	sub, err := form.Parse(x)
	if err != nil {
		rg.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondBadRequest, err.Error()))
		return
	}
	if _, err := rg.submitRegistration(ctx, user, sub); err != nil {
		var next *nextStepError
		if !errors.As(err, &next) {
			rg.log.Info("registration refused", "user", user, "err", err)
		}
		rg.out.replyError(ctx, iq, userError(err))
		return
	}
	rg.out.reply(ctx, iq, nil)
}

// handleGatewayIQ implements XEP-0100 jabber:iq:gateway: turning a remote
// address the user typed into a contact JID.
func (rg *registrar) handleGatewayIQ(ctx context.Context, iq *xmpp.IQ) {
	if iq.Type == xmpp.IQGet {
		q := xmpp.NewElement(NSGatewayIQ, "query").Append(
			xmpp.TextElement("", "desc", rg.info.ContactDesc),
			xmpp.TextElement("", "prompt", rg.info.ContactPrompt),
		)
		rg.out.reply(ctx, iq, q)
		return
	}
	input := strings.TrimSpace(iq.Payload.ChildText("", "prompt"))
	if input == "" {
		rg.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondBadRequest, "Empty "+rg.info.ContactPrompt))
		return
	}
	c, err := rg.resolveContact(ctx, iq.From, input)
	if err != nil {
		rg.out.replyError(ctx, iq, userError(err))
		return
	}
	cj, err := rg.contacts.jidFor(c.ID)
	if err != nil {
		rg.out.replyError(ctx, iq, userError(err))
		return
	}
	q := xmpp.NewElement(NSGatewayIQ, "query").Append(xmpp.TextElement("", "jid", cj.String()))
	rg.out.reply(ctx, iq, q)
}

// resolveContact asks the user's sessions (or the transport itself) to
// turn input into a contact.
func (rg *registrar) resolveContact(ctx context.Context, user jid.JID, input string) (Contact, error) {
	var lastErr error
	for _, a := range rg.accounts.userAccounts(user) {
		sess, state, _ := a.snapshot()
		r, ok := sess.(ContactResolver)
		if state != LoggedIn || !ok {
			continue
		}
		c, err := r.ResolveContact(ctx, input)
		if err == nil {
			rg.accounts.noteRoute(a, c.ID)
			return c, nil
		}
		lastErr = err
	}
	if r, ok := rg.tr.(ContactResolver); ok {
		return r.ResolveContact(ctx, input)
	}
	if lastErr == nil {
		lastErr = notLoggedIn(rg.db, rg.cfg.Name, rg.info, rg.domain, user)
	}
	return Contact{}, lastErr
}
