package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/sms"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// transportKind wires one network into the binary: its name, the type of
// its own configuration and its constructor.
//
// # Adding a transport
//
// Adding a transport is one row in transportKinds, made with transportRow:
//
//	transportRow("slack", func(inst *instance, opts *slack.Config, log *slog.Logger) (bridge.Transport, error) {
//		return slack.New(*opts, log)
//	}),
//
// The transport package owns its Config struct (go-toml tags, zero values
// meaning defaults) and its Validate method. Its keys sit in every
// [[network]] table of the file next to the common keys of instanceConfig
// (name, domain, secret, ...): the decoder flattens the two structs into one
// table, so an unknown or mistyped key is reported with its line and column
// whichever of the two it was meant for. A transport key must not reuse a
// common key; TestTransportKinds checks that for every row. Validate is
// called after decoding; each error it returns (errors.Join for several)
// becomes one line prefixed with the instance's key path, so it should name
// the TOML key it is about ("bot_token: must start with xoxb-"). Validate
// may read files and environment variables but must do no network I/O:
// `xgate check-config` runs it.
//
// The constructor receives the validated instance (name, domain, component
// settings) and a logger that already carries the instance name; like every
// constructor it must do no network I/O. Background work belongs in the
// transport's Run method (bridge.Runner), which the gateway runs.
type transportKind struct {
	// network is the TOML array-of-tables name and the default instance
	// name ("slack").
	network string
	// options is the struct type of the transport's configuration.
	options reflect.Type
	// validate checks a decoded *options value.
	validate func(opts any) error
	// newTransport builds the transport of one instance; inst.options holds
	// the validated *options value.
	newTransport func(inst *instance, log *slog.Logger) (bridge.Transport, error)
}

// optionsValidator is what a transport's configuration must implement.
type optionsValidator interface{ Validate() error }

// transportRow builds a transportKind from a transport's configuration type
// C (whose pointer has Validate() error) and its constructor.
func transportRow[C any, P interface {
	*C
	optionsValidator
}](network string, newTransport func(inst *instance, opts *C, log *slog.Logger) (bridge.Transport, error)) transportKind {
	t := reflect.TypeFor[C]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("xgate: transport %s: options type %s is not a struct", network, t))
	}
	return transportKind{
		network:  network,
		options:  t,
		validate: func(opts any) error { return P(opts.(*C)).Validate() },
		newTransport: func(inst *instance, log *slog.Logger) (bridge.Transport, error) {
			return newTransport(inst, inst.options.(*C), log)
		},
	}
}

// plannedNetworks are the networks xgate is designed for. A [[network]]
// table for one of them that has no row in transportKinds fails validation
// with "<network> transport is not available in this build" rather than
// "unknown table".
var plannedNetworks = []string{"slack", "discord", "sms"}

// transportKinds is the explicit table of the transports compiled into this
// binary, in the order their sections are validated and their gateways
// started. See transportKind for how to add one.
var transportKinds = []transportKind{
	transportRow("slack", func(inst *instance, opts *slack.Config, log *slog.Logger) (bridge.Transport, error) {
		return slack.New(*opts, log, nil)
	}),
	transportRow("discord", func(inst *instance, opts *discord.Config, log *slog.Logger) (bridge.Transport, error) {
		return discord.New(*opts, log, nil)
	}),
	transportRow("sms", func(inst *instance, opts *sms.Config, log *slog.Logger) (bridge.Transport, error) {
		return sms.New(*opts, log, nil)
	}),
}

// assigner is implemented by transports whose administrator assigns
// remote accounts to XMPP users in the configuration (SMS numbers).
type assigner interface {
	Assignments() []sms.Assignment
}

// provisionAssigned stores the accounts a transport's configuration
// assigns to users, as if each user had registered them: the gateway logs
// them in when it starts. Provisioning again at each start replaces what
// was stored (an account removed from the configuration stays stored but
// its login is refused by the transport).
func provisionAssigned(db *store.DB, inst *instance, tr bridge.Transport, log *slog.Logger) error {
	a, ok := tr.(assigner)
	if !ok {
		return nil
	}
	for _, as := range a.Assignments() {
		user, err := jid.Parse(as.User)
		if err != nil {
			return fmt.Errorf("%s: assigned account %s: user %q: %w", inst.Name, as.Account.ID, as.User, err)
		}
		if err := bridge.Provision(db, inst.Name, user.Bare(), as.Account); err != nil {
			return fmt.Errorf("%s: assigned account %s: %w", inst.Name, as.Account.ID, err)
		}
		log.Info("account assigned", "gateway", inst.Name, "user", user.Bare().String(), "account", string(as.Account.ID))
	}
	return nil
}

// keepState gives a transport that keeps durable state of its own (the
// Discord bot's routing, links and catch-up cursors) the store's key-value
// namespace of its instance, "state/INSTANCE".
func keepState(db *store.DB, inst *instance, tr bridge.Transport) {
	if d, ok := tr.(*discord.Transport); ok {
		d.UseState(kvState{db: db, ns: "state/" + inst.Name})
	}
}

// kvState is a discord.State in one namespace of the store.
type kvState struct {
	db *store.DB
	ns string
}

func (k kvState) Get(key string) (string, bool, error) {
	v, err := k.db.KVGet(k.ns, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(v), true, nil
}

func (k kvState) Put(key, value string) error { return k.db.KVPut(k.ns, key, []byte(value)) }

func (k kvState) Delete(key string) error {
	if err := k.db.KVDelete(k.ns, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (k kvState) List(prefix string) (map[string]string, error) {
	kv, err := k.db.KVList(k.ns, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kv))
	for key, v := range kv {
		out[key] = string(v)
	}
	return out, nil
}

// networkNames returns the networks the configuration file may contain:
// the planned ones and any other that has a row, in that order.
func networkNames(kinds []transportKind) []string {
	names := append([]string(nil), plannedNetworks...)
	for _, k := range kinds {
		if !slices.Contains(names, k.network) {
			names = append(names, k.network)
		}
	}
	return names
}

// kindOf returns the row of a network, or nil if it is not in this build.
func kindOf(kinds []transportKind, network string) *transportKind {
	for i := range kinds {
		if kinds[i].network == network {
			return &kinds[i]
		}
	}
	return nil
}
