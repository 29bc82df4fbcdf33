package bridge

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Multi-step registration: a network that needs more than one form (a
// phone number, then the code it texted to that number) implements
// MultiStepRegistrar. The registrar keeps, per user, the form to fill in
// next and what was submitted so far; the in-band form (XEP-0077), the
// Register ad-hoc command and the chat command all continue it.

// pendingRegistrationTTL bounds how long a registration waits for its next
// step.
const pendingRegistrationTTL = 15 * time.Minute

// pendingRegistration is a registration waiting for its next step.
type pendingRegistration struct {
	form    RegistrationForm
	values  map[string]string
	expires time.Time
}

// registrations holds the registrations in progress, by bare user JID.
type registrations struct {
	mu sync.Mutex
	m  map[jid.JID]pendingRegistration
}

func (r *registrations) get(user jid.JID) (pendingRegistration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.m[user]
	if ok && time.Now().After(p.expires) {
		delete(r.m, user)
		return pendingRegistration{}, false
	}
	return p, ok
}

func (r *registrations) put(user jid.JID, p pendingRegistration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[jid.JID]pendingRegistration{}
	}
	r.m[user] = p
}

func (r *registrations) drop(user jid.JID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, user)
}

// nextStepError says a registration needs another form, Form.
type nextStepError struct{ Form RegistrationForm }

func (e *nextStepError) Error() string {
	if e.Form.Instructions != "" {
		return "bridge: one more step: " + e.Form.Instructions
	}
	return "bridge: one more step of registration"
}

// currentForm is the form the user fills in now: the next step of a
// registration in progress, else the first.
func (rg *registrar) currentForm(user jid.JID) RegistrationForm {
	if p, ok := rg.pending.get(user.Bare()); ok {
		return p.form
	}
	return rg.info.Registration
}

// submitRegistration takes the user's answer to currentForm. It returns
// the account once the network made one, or a *nextStepError with the
// form of the next step. A failure ends the registration in progress.
func (rg *registrar) submitRegistration(ctx context.Context, user jid.JID, sub *form.Form) (AccountData, error) {
	user = user.Bare()
	rf := rg.currentForm(user)
	if err := dataForm(rf, rg.info.Name).Validate(sub); err != nil {
		return AccountData{}, err
	}
	values := map[string]string{}
	if p, ok := rg.pending.get(user); ok {
		maps.Copy(values, p.values)
	}
	maps.Copy(values, formValues(rf, sub))
	data, err := rg.register(ctx, user, values)
	var next *nextStepError
	switch {
	case errors.As(err, &next):
		rg.pending.put(user, pendingRegistration{form: next.Form, values: values, expires: time.Now().Add(pendingRegistrationTTL)})
	default:
		rg.pending.drop(user)
	}
	return data, err
}
