package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// Numbers assigned by an administrator's command, and texts to numbers
// nobody has.
//
// An assignment made with the sms-assign command is stored in the
// gateway's records ("num/NUMBER") next to the account it provisions, so it
// outlives restarts like one from the configuration; sms-unassign removes
// it (a configured number is changed in the configuration only).
//
// A text to a number no account has is kept in the records
// ("kept/NUMBER/ID") before its webhook is answered, logged, counted
// (Stats.Unassigned) and reported to the admins, at most once per number
// per noticeEvery. When the number is assigned (by command, or in the
// configuration and a restart), its account's login passes the kept texts
// on to the new owner, oldest first, and removes them.

// Record key prefixes.
const (
	numPrefix  = "num/"
	keptPrefix = "kept/"
)

// noticeEvery bounds the admin notices about one unassigned number, and
// noticeMax those about all numbers together in that time.
const (
	noticeEvery = time.Hour
	noticeMax   = 20
)

// keptMax bounds the texts kept for one unassigned number, so that a flood
// to a number nobody has cannot fill the store; beyond it a text is
// refused loudly (logged with its sender, counted, the admins told).
var keptMax = 1000

// storedAssignment is an assignment made by command.
type storedAssignment struct {
	User     string   `json:"u"`
	Contacts []string `json:"c,omitempty"`
	By       string   `json:"b"`
}

// UseHost gives the transport its gateway's records and services
// (bridge.HostUser): the delivery-report tracker stores what it tracks,
// and the assignments made by command are read back.
func (t *Transport) UseHost(h *bridge.Host) {
	t.host = h
	t.reports.rec, t.reports.log = h, t.log
	all, err := h.List(numPrefix)
	if err != nil {
		t.log.Error("reading the numbers assigned by command", "err", err)
		return
	}
	t.amu.Lock()
	defer t.amu.Unlock()
	for k, v := range all {
		num, err := phone.ParseLocalpart(strings.TrimPrefix(k, numPrefix))
		var sa storedAssignment
		if err != nil || json.Unmarshal(v, &sa) != nil {
			t.log.Error("an assignment record does not read", "key", k)
			continue
		}
		if _, ok := t.numbers[num]; ok {
			continue // the configuration's wins
		}
		a := assigned{user: sa.User, byCommand: true}
		for _, c := range sa.Contacts {
			if n, err := phone.ParseLocalpart(c); err == nil {
				a.contacts = append(a.contacts, n)
			}
		}
		t.numbers[num] = a
	}
}

// assignment returns who a number is assigned to.
func (t *Transport) assignment(num phone.Number) (assigned, bool) {
	t.amu.RLock()
	defer t.amu.RUnlock()
	a, ok := t.numbers[num]
	return a, ok
}

// AdminCommands are the administrators' commands (bridge.AdminCommander).
func (t *Transport) AdminCommands() []bridge.AdminCommand {
	text := func(v, label, desc string, required bool) bridge.Field {
		return bridge.Field{Var: v, Label: label, Desc: desc, Type: bridge.FieldText, Required: required}
	}
	return []bridge.AdminCommand{
		{
			Node: "sms-assign", Name: "Assign a number to a user (admin)",
			Help: "sms-assign number=NUMBER user=JID [contacts=N1,N2]: give a provider number to a user (admins only)",
			Form: bridge.RegistrationForm{Title: "Assign a provider number", Fields: []bridge.Field{
				text("number", "Provider number", "The number or short code at the provider", true),
				text("user", "User", "The bare JID of the XMPP user who gets it", true),
				text("contacts", "Contacts", "Numbers to put in the user's roster, separated by commas (optional)", false),
			}},
			Run: t.runAssign,
		},
		{
			Node: "sms-unassign", Name: "Unassign a number (admin)",
			Help: "sms-unassign number=NUMBER: take a number assigned by command back (admins only)",
			Form: bridge.RegistrationForm{Title: "Unassign a provider number", Fields: []bridge.Field{
				text("number", "Provider number", "", true),
			}},
			Run: t.runUnassign,
		},
		{
			Node: "sms-numbers", Name: "List assigned numbers (admin)",
			Help: "sms-numbers: list the assigned numbers and the texts kept for unassigned ones (admins only)",
			Run:  t.runNumbers,
		},
	}
}

func (t *Transport) runAssign(ctx context.Context, admin string, v map[string]string) (string, error) {
	if t.host == nil || t.shared == nil {
		return "", fmt.Errorf("%w: this gateway has no provider for assigned numbers", bridge.ErrInvalidInput)
	}
	num, err := t.s.norm.Normalize(v["number"])
	if err != nil {
		return "", fmt.Errorf("%w: number: %v", bridge.ErrInvalidInput, err)
	}
	user := strings.TrimSpace(v["user"])
	if !strings.Contains(user, "@") || strings.ContainsAny(user, "/ ") {
		return "", fmt.Errorf("%w: user: %q is not a bare JID", bridge.ErrInvalidInput, user)
	}
	contacts, err := t.parseContacts(v["contacts"])
	if err != nil {
		return "", err
	}
	if a, ok := t.assignment(num); ok {
		return "", fmt.Errorf("%w: %s is already assigned to %s: unassign it first", bridge.ErrInvalidInput, num, a.user)
	}
	sa := storedAssignment{User: user, By: admin}
	a := assigned{user: user, byCommand: true}
	for c := range strings.SplitSeq(contacts, ",") {
		if n, err := phone.ParseLocalpart(c); err == nil {
			sa.Contacts = append(sa.Contacts, c)
			a.contacts = append(a.contacts, n)
		}
	}
	b, err := json.Marshal(sa)
	if err != nil {
		return "", err
	}
	if err := t.host.Put(numPrefix+num.String(), b); err != nil {
		return "", err
	}
	kept := t.keptCount(num)
	t.amu.Lock()
	t.numbers[num] = a
	t.amu.Unlock()
	if err := t.host.Assign(ctx, user, t.assignedAccount(num)); err != nil {
		t.amu.Lock()
		delete(t.numbers, num)
		t.amu.Unlock()
		_ = t.host.Delete(numPrefix + num.String())
		return "", err
	}
	t.log.Info("number assigned by command", "number", num.String(), "user", user, "admin", admin)
	note := fmt.Sprintf("%s is now %s's.", num, user)
	if kept > 0 {
		note += fmt.Sprintf(" The %d text(s) kept for it are passed on to them.", kept)
	}
	return note, nil
}

func (t *Transport) runUnassign(ctx context.Context, admin string, v map[string]string) (string, error) {
	if t.host == nil {
		return "", fmt.Errorf("%w: this gateway keeps no assignments", bridge.ErrInvalidInput)
	}
	num, err := t.s.norm.Normalize(v["number"])
	if err != nil {
		return "", fmt.Errorf("%w: number: %v", bridge.ErrInvalidInput, err)
	}
	a, ok := t.assignment(num)
	switch {
	case !ok:
		return "", fmt.Errorf("%w: %s is not assigned", bridge.ErrInvalidInput, num)
	case !a.byCommand:
		return "", fmt.Errorf("%w: %s is assigned in the configuration file: change it there", bridge.ErrInvalidInput, num)
	}
	if err := t.host.Delete(numPrefix + num.String()); err != nil {
		return "", err
	}
	t.amu.Lock()
	delete(t.numbers, num)
	t.amu.Unlock()
	if err := t.host.Unassign(ctx, a.user, bridge.AccountID(num)); err != nil {
		t.log.Warn("unassigned number had no account", "number", num.String(), "err", err)
	}
	t.log.Info("number unassigned by command", "number", num.String(), "user", a.user, "admin", admin)
	return fmt.Sprintf("%s is no longer %s's. Texts to it are kept until it is assigned again.", num, a.user), nil
}

func (t *Transport) runNumbers(context.Context, string, map[string]string) (string, error) {
	t.amu.RLock()
	nums := slices.Sorted(maps.Keys(t.numbers))
	lines := make([]string, 0, len(nums)+1)
	for _, n := range nums {
		a := t.numbers[n]
		how := "configuration"
		if a.byCommand {
			how = "command"
		}
		lines = append(lines, fmt.Sprintf("%s: %s (%s)", n, a.user, how))
	}
	t.amu.RUnlock()
	if len(lines) == 0 {
		lines = append(lines, "No number is assigned.")
	}
	if t.host != nil {
		kept, _ := t.host.List(keptPrefix)
		per := map[string]int{}
		for k := range kept {
			num, _, _ := strings.Cut(strings.TrimPrefix(k, keptPrefix), "/")
			per[num]++
		}
		for _, n := range slices.Sorted(maps.Keys(per)) {
			lines = append(lines, fmt.Sprintf("%s: unassigned, %d text(s) kept", n, per[n]))
		}
	}
	return strings.Join(lines, "\n"), nil
}

// assignedAccount is the account of an assigned number. It names its
// user: Login refuses the stored account of a user the number is no longer
// assigned to, even when it is assigned again to someone else.
func (t *Transport) assignedAccount(num phone.Number) bridge.AccountData {
	a, _ := t.assignment(num)
	return bridge.AccountData{
		ID: bridge.AccountID(num), Name: num.String(),
		Settings: map[string]string{"mode": modeAssigned, "number": num.String(), "user": a.user},
	}
}

// keptText is a text to an unassigned number, as kept.
type keptText struct {
	In provider.Inbound `json:"in"`
	At time.Time        `json:"at"`
}

// keep stores a text to a number nobody has, logs, counts and reports it.
// Without the gateway's records (a Transport outside a gateway) it is
// logged and counted only.
func (t *Transport) keep(ctx context.Context, m provider.Inbound) error {
	t.unassigned.Add(1)
	t.log.Error("text to a number no account has: kept until the number is assigned",
		"to", m.To.String(), "from", m.From.String(), "id", string(m.ID), "received", m.Received)
	if t.host == nil {
		return nil
	}
	n := t.keptCount(m.To)
	if n >= keptMax {
		t.log.Error("text to a number no account has NOT kept: too many texts kept for it already",
			"to", m.To.String(), "from", m.From.String(), "id", string(m.ID), "kept", n)
		if t.noticeDue(m.To) {
			t.host.NotifyAdmins(ctx, fmt.Sprintf(
				"SMS: %d texts are kept for %s, a number no user has: new ones are refused (logged). Assign it with: sms-assign number=%s user=JID",
				n, m.To, m.To))
		}
		return nil
	}
	b, err := json.Marshal(keptText{In: m, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	if err := t.host.Put(keptPrefix+m.To.String()+"/"+string(m.ID), b); err != nil {
		return err
	}
	if t.noticeDue(m.To) {
		t.host.NotifyAdmins(ctx, fmt.Sprintf(
			"SMS: a text from %s to %s, a number no user has, is kept (%d kept for it). Assign the number with: sms-assign number=%s user=JID — the kept texts then go to that user.",
			m.From, m.To, t.keptCount(m.To), m.To))
	}
	return nil
}

// noticeDue reports whether the admins may be told about num now.
func (t *Transport) noticeDue(num phone.Number) bool {
	t.nmu.Lock()
	defer t.nmu.Unlock()
	now := time.Now()
	for n, at := range t.noticed {
		if now.Sub(at) >= noticeEvery {
			delete(t.noticed, n)
		}
	}
	if _, ok := t.noticed[num]; ok || len(t.noticed) >= noticeMax {
		return false
	}
	t.noticed[num] = now
	return true
}

// keptCount is how many texts are kept for num.
func (t *Transport) keptCount(num phone.Number) int {
	if t.host == nil {
		return 0
	}
	kept, err := t.host.List(keptPrefix + num.String() + "/")
	if err != nil {
		return 0
	}
	return len(kept)
}

// passKept hands the texts kept for an account's number to it, oldest
// first, each removed once stored for its user. It runs in its own
// goroutine, started by Login, until ctx ends.
func (t *Transport) passKept(ctx context.Context, num phone.Number) {
	if t.host == nil {
		return
	}
	kept, err := t.host.List(keptPrefix + num.String() + "/")
	if err != nil {
		t.log.Error("reading kept texts", "number", num.String(), "err", err)
		return
	}
	var texts []keptText
	keys := map[provider.MessageID]string{}
	for k, v := range kept {
		var kt keptText
		if json.Unmarshal(v, &kt) != nil {
			t.log.Error("a kept text does not read", "key", k)
			continue
		}
		texts = append(texts, kt)
		keys[kt.In.ID] = k
	}
	slices.SortFunc(texts, func(a, b keptText) int { return a.At.Compare(b.At) })
	for _, kt := range texts {
		if err := (fromProvider{t: t}).inbound(ctx, kt.In, "kept/"+string(kt.In.ID)); err != nil {
			t.log.Warn("kept text not passed on yet: tried again at the next login", "number", num.String(), "id", string(kt.In.ID), "err", err)
			return
		}
		if err := t.host.Delete(keys[kt.In.ID]); err != nil {
			t.log.Warn("removing a passed kept text", "err", err)
		}
	}
	if len(texts) > 0 {
		t.log.Info("kept texts passed on", "number", num.String(), "count", len(texts))
	}
}
