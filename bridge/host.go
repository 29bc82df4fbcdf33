package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// concurrent use. It holds only what those services need, never the
// Gateway.
type Host struct {
	// name is the gateway instance: the prefix of its records.
	name    string
	records recordStore
	// admins are the administrators' JIDs (Access.Admins), as configured.
	admins []string
	// from is the gateway's JID, the sender of notices.
	from    jid.JID
	notices noticeSender
	assign  accountAssigner
	log     *slog.Logger
}

// recordStore is the key/value part of the store that keeps transports'
// records (*store.DB).
type recordStore interface {
	KVPut(ns, key string, value []byte) error
	KVGet(ns, key string) ([]byte, error)
	KVDelete(ns, key string) error
	KVList(ns, prefix string) (map[string][]byte, error)
}

// noticeSender sends the administrators' notices towards XMPP, durably
// while the host server is away (toXMPP).
type noticeSender interface {
	send(ctx context.Context, s xmpp.Stanza) error
	newID() string
}

// accountAssigner adds and removes a user's accounts on an administrator's
// behalf (registrar).
type accountAssigner interface {
	assign(ctx context.Context, user jid.JID, data AccountData) error
	unregister(ctx context.Context, user jid.JID, id AccountID) (int, error)
}

// ErrNoRecord is returned by Host.Get for a key without a record.
var ErrNoRecord = errors.New("bridge: no such record")

func (h *Host) key(k string) string { return h.name + chatKeySep + k }

// Put stores a record, replacing any under the same key (not empty, no
// NUL byte).
func (h *Host) Put(key string, value []byte) error {
	if err := h.records.KVPut(hostNS, h.key(key), value); err != nil {
		return fmt.Errorf("bridge: put record: %w", err)
	}
	return nil
}

// Get returns a record, or ErrNoRecord.
func (h *Host) Get(key string) ([]byte, error) {
	v, err := h.records.KVGet(hostNS, h.key(key))
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
	err := h.records.KVDelete(hostNS, h.key(key))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("bridge: delete record: %w", err)
	}
	return nil
}

// List returns the records whose key starts with prefix, by their whole
// key (as Put was given it).
func (h *Host) List(prefix string) (map[string][]byte, error) {
	all, err := h.records.KVList(hostNS, h.key(prefix))
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
	for _, a := range h.admins {
		to, err := jid.Parse(strings.TrimSpace(a))
		if err != nil {
			continue
		}
		m := &xmpp.Message{Header: xmpp.Header{From: h.from, To: to.Bare(), ID: h.notices.newID(), Type: xmpp.MessageChat}, Body: text}
		if err := h.notices.send(ctx, m); err != nil {
			h.log.Warn("notice to an admin not sent", "admin", a, "err", err)
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
	return h.assign.assign(ctx, u.Bare(), data)
}

// Unassign stops and removes an account of user, as unregistering it
// would (ErrNotRegistered if the user has no such account).
func (h *Host) Unassign(ctx context.Context, user string, id AccountID) error {
	u, err := jid.Parse(user)
	if err != nil {
		return fmt.Errorf("%w: %q is not a JID", ErrInvalidInput, user)
	}
	_, err = h.assign.unregister(ctx, u.Bare(), id)
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
