package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// What a gateway offers its transport beyond the Sink of each session:
// durable records, notices to the administrators, accounts assigned by an
// administrator, admin commands and counters for /metrics. Each is an
// optional interface the transport implements.

// HostUser is implemented by transports that use their gateway's services
// (Host). New calls UseHost once, before Run; the Host is usable from then
// on, its account methods once the gateway runs.
type HostUser interface {
	UseHost(h *Host)
}

// AdminCommander is implemented by transports that add commands for the
// gateway's administrators (XEP-0050 ad-hoc commands and chat commands to
// the gateway JID, offered to admins only).
type AdminCommander interface {
	AdminCommands() []AdminCommand
}

// AdminCommand is a transport's admin command.
type AdminCommand struct {
	// Node is the ad-hoc node and the chat command word ("sms-assign").
	Node string
	// Name is the command's title; Help one line for "help".
	Name, Help string
	// Form lists the command's inputs; no Fields means the command runs at
	// once. A chat command takes them as field=value words.
	Form RegistrationForm
	// Run executes the command for admin (a bare JID) with the submitted
	// values. It returns the note shown to the admin; an error wrapping
	// ErrInvalidInput is shown with its text.
	Run func(ctx context.Context, admin string, values map[string]string) (string, error)
}

// StatsReporter is implemented by transports with counters of their own;
// they are exported in /metrics as xgate_transport_total{counter=NAME}.
// Names are lowercase words joined by "_"; values only grow.
type StatsReporter interface {
	TransportStats() map[string]int64
}

// TransportStats returns the transport's counters (StatsReporter), or nil.
func (g *Gateway) TransportStats() map[string]int64 {
	if sr, ok := g.tr.(StatsReporter); ok {
		return sr.TransportStats()
	}
	return nil
}

// hostNS is the KV namespace of transports' records.
const hostNS = "transport"

// Host is a gateway's services to its transport. Records live in the
// gateway's store under the instance's name; the methods are safe for
// concurrent use.
type Host struct {
	g *Gateway
}

// ErrNoRecord is returned by Host.Get for a key without a record.
var ErrNoRecord = errors.New("bridge: no such record")

func (h *Host) key(k string) string { return h.g.cfg.Name + chatKeySep + k }

// Put stores a record, replacing any under the same key (not empty, no
// NUL byte).
func (h *Host) Put(key string, value []byte) error {
	if err := h.g.db.KVPut(hostNS, h.key(key), value); err != nil {
		return fmt.Errorf("bridge: put record: %w", err)
	}
	return nil
}

// Get returns a record, or ErrNoRecord.
func (h *Host) Get(key string) ([]byte, error) {
	v, err := h.g.db.KVGet(hostNS, h.key(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: get record: %w", err)
	}
	return v, nil
}

// Delete removes a record; removing a missing one is not an error.
func (h *Host) Delete(key string) error {
	err := h.g.db.KVDelete(hostNS, h.key(key))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("bridge: delete record: %w", err)
	}
	return nil
}

// List returns the records whose key starts with prefix, by their whole
// key (as Put was given it).
func (h *Host) List(prefix string) (map[string][]byte, error) {
	all, err := h.g.db.KVList(hostNS, h.key(prefix))
	if err != nil {
		return nil, fmt.Errorf("bridge: list records: %w", err)
	}
	out := make(map[string][]byte, len(all))
	cut := len(h.key(""))
	for k, v := range maps.All(all) {
		out[k[cut:]] = v
	}
	return out, nil
}

// NotifyAdmins sends text, as a chat message from the gateway, to each
// administrator (Access.Admins). It is kept in the outbox while the host
// server is away. The transport bounds how often it notifies.
func (h *Host) NotifyAdmins(ctx context.Context, text string) {
	for _, a := range h.g.cfg.Access.Admins {
		to, err := jid.Parse(strings.TrimSpace(a))
		if err != nil {
			continue
		}
		m := &xmpp.Message{Header: xmpp.Header{From: h.g.domain, To: to.Bare(), ID: h.g.deliv.newID(), Type: xmpp.MessageChat}, Body: text}
		if err := h.g.deliv.send(ctx, m); err != nil {
			h.g.log.Warn("notice to an admin not sent", "admin", a, "err", err)
		}
	}
}

// Assign stores data as an account of user (a bare JID), as if the user
// had registered it, and logs it in at once when the gateway runs.
func (h *Host) Assign(ctx context.Context, user string, data AccountData) error {
	u, err := jid.Parse(user)
	if err != nil || u.Local() == "" {
		return fmt.Errorf("%w: %q is not a user's JID", ErrInvalidInput, user)
	}
	u = u.Bare()
	if err := Provision(h.g.db, h.g.cfg.Name, u, data); err != nil {
		return err
	}
	if !h.g.life.running() {
		return nil
	}
	a, err := h.g.db.GetAccount(store.AccountKey{User: u.String(), Transport: h.g.cfg.Name, Remote: string(data.ID)})
	if err != nil {
		return fmt.Errorf("bridge: read account: %w", err)
	}
	if err := h.g.accounts.start(ctx, a); err != nil {
		return err
	}
	// XEP-0100 §4.1.1: the gateway asks to be in the user's roster.
	_ = h.g.deliv.send(ctx, &xmpp.Presence{Header: xmpp.Header{From: h.g.domain, To: u, Type: xmpp.PresenceSubscribe}})
	return nil
}

// Unassign stops and removes an account of user, as unregistering it
// would (ErrNotRegistered if the user has no such account).
func (h *Host) Unassign(ctx context.Context, user string, id AccountID) error {
	u, err := jid.Parse(user)
	if err != nil {
		return fmt.Errorf("%w: %q is not a JID", ErrInvalidInput, user)
	}
	_, err = h.g.reg.unregister(ctx, u.Bare(), id)
	return err
}

// transportCommands turns the transport's admin commands into gateway
// commands.
func transportCommands(tr Transport) []*command {
	ac, ok := tr.(AdminCommander)
	if !ok {
		return nil
	}
	var out []*command
	for _, tc := range ac.AdminCommands() {
		c := &command{node: tc.Node, name: tc.Name, help: tc.Help, admin: true}
		if len(tc.Form.Fields) > 0 {
			c.form = func(rg *registrar, _ jid.JID) *form.Form {
				f := dataForm(tc.Form, rg.info.Name)
				f.Fields = f.Fields[1:] // no FORM_TYPE: not a registration
				return f
			}
			c.parse = func(_ *registrar, _ jid.JID, args string) (*form.Form, error) {
				return parseFieldArgs(tc.Node, tc.Form, args)
			}
		}
		c.run = func(ctx context.Context, _ *registrar, user jid.JID, sub *form.Form) (string, *form.Form, error) {
			vals := map[string]string{}
			if sub != nil {
				vals = formValues(tc.Form, sub)
			}
			for _, fd := range tc.Form.Fields {
				if fd.Required && vals[fd.Var] == "" {
					return "", nil, fmt.Errorf("%w: %s is required", ErrInvalidInput, fd.Var)
				}
			}
			note, err := tc.Run(ctx, user.Bare().String(), vals)
			return note, nil, err
		}
		out = append(out, c)
	}
	return out
}

// parseFieldArgs reads "field=value field=value" (the last field may
// also be given as the rest of the line without a name when it is the
// only one).
func parseFieldArgs(node string, rf RegistrationForm, args string) (*form.Form, error) {
	f := &form.Form{Type: form.TypeSubmit}
	words := strings.Fields(args)
	if len(words) == 0 {
		var names []string
		for _, fd := range rf.Fields {
			names = append(names, fd.Var+"=…")
		}
		return nil, fmt.Errorf("%w: usage: %s %s", ErrInvalidInput, node, strings.Join(names, " "))
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not field=value", ErrInvalidInput, w)
		}
		f.Set(k, v)
	}
	return f, nil
}
