package bridge

import (
	"context"
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// command is one gateway command, offered both as a XEP-0050 ad-hoc command
// and as a chat command sent to the gateway JID.
type command struct {
	node  string // ad-hoc node and chat command word
	name  string
	help  string // one line for "help"
	admin bool
	// form returns the form to fill in, or nil for commands that run at
	// once.
	form func(rg *registrar, user jid.JID) *form.Form
	// run executes the command with the submitted form (nil when the
	// command has no form). It returns a note for the user and optionally a
	// result table.
	run func(ctx context.Context, rg *registrar, user jid.JID, sub *form.Form) (string, *form.Form, error)
	// parse turns the words after a chat command into a submitted form;
	// nil means the command takes no arguments.
	parse func(rg *registrar, user jid.JID, args string) (*form.Form, error)
}

var commands = []*command{
	{
		node: "register", name: "Register an account",
		help: "register <credentials>: add an account (or log in again with new credentials)",
		form: func(rg *registrar, user jid.JID) *form.Form { return rg.registrationForm(user) },
		run:  runRegister,
		parse: func(rg *registrar, user jid.JID, args string) (*form.Form, error) {
			return rg.parseRegisterArgs(user, args)
		},
	},
	{
		node: "unregister", name: "Remove an account",
		help: "unregister [account]: remove your account (all of them if you name none)",
		form: unregisterForm,
		run:  runUnregister,
		parse: func(rg *registrar, _ jid.JID, args string) (*form.Form, error) {
			f := &form.Form{Type: form.TypeSubmit}
			if a := strings.TrimSpace(args); a != "" {
				f.Set("account", a)
			}
			f.Set("confirm", "true")
			return f, nil
		},
	},
	{
		node: "status", name: "Show account status",
		help: "status: show your accounts and whether they are connected",
		run:  runStatus,
	},
	{
		node: "users", name: "List users (admin)", admin: true,
		help: "users: list every registered account (admins only)",
		run:  runUsers,
	},
	{
		node: "statistics", name: "Gateway statistics (admin)", admin: true,
		help: "statistics: accounts, contacts, queued messages, uptime and counters (admins only)",
		run:  runStatistics,
	},
	{
		node: "backup", name: "Back up the database (admin)", admin: true,
		help: "backup: write an online backup of the database (admins only)",
		run:  runBackup,
	},
}

// commandsFor lists the commands a user may run.
func (rg *registrar) commandsFor(user jid.JID) []*command {
	var out []*command
	for _, c := range append(commands[:len(commands):len(commands)], rg.extra...) {
		if c.admin && !rg.cfg.Access.IsAdmin(user) {
			continue
		}
		if !c.admin && !rg.cfg.Access.Allowed(user) {
			continue
		}
		if c.node == "backup" && rg.cfg.Backup == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// command finds a command the user may run.
func (rg *registrar) command(node string, user jid.JID) (*command, bool) {
	for _, c := range rg.commandsFor(user) {
		if c.node == node {
			return c, true
		}
	}
	return nil, false
}

func runRegister(ctx context.Context, rg *registrar, user jid.JID, sub *form.Form) (string, *form.Form, error) {
	data, err := rg.submitRegistration(ctx, user, sub)
	if err != nil {
		return "", nil, err
	}
	name := data.Name
	if name == "" {
		name = string(data.ID)
	}
	return fmt.Sprintf("Registered %s account %s. Your contacts will appear in your roster shortly.", rg.info.Name, name), nil, nil
}

// parseRegisterArgs reads "register VALUE" (for a one-field form) or
// "register field=value field=value".
func (rg *registrar) parseRegisterArgs(user jid.JID, args string) (*form.Form, error) {
	f := &form.Form{Type: form.TypeSubmit}
	var inputs []Field
	for _, fd := range rg.currentForm(user).Fields {
		if fd.Type != FieldFixed {
			inputs = append(inputs, fd)
		}
	}
	words := strings.Fields(args)
	if len(words) == 0 {
		var names []string
		for _, fd := range inputs {
			names = append(names, fd.Var+"=…")
		}
		return nil, fmt.Errorf("%w: usage: register %s", ErrInvalidInput, strings.Join(names, " "))
	}
	if len(inputs) == 1 && !strings.Contains(words[0], "=") {
		f.Set(inputs[0].Var, strings.Join(words, " "))
		return f, nil
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

func unregisterForm(rg *registrar, user jid.JID) *form.Form {
	f := &form.Form{Type: form.TypeForm, Title: "Remove a " + rg.info.Name + " account"}
	accts, _ := rg.db.UserAccounts(rg.cfg.Name, user.Bare().String())
	if len(accts) > 1 {
		fd := form.Field{Var: "account", Label: "Account (leave empty for all)", Type: form.FieldListSingle}
		for _, a := range accts {
			label := a.Settings[settingName]
			if label == "" {
				label = a.Remote
			}
			fd.Options = append(fd.Options, form.Option{Label: label, Value: a.Remote})
		}
		f.Fields = append(f.Fields, fd)
	}
	f.Fields = append(f.Fields, form.Field{Var: "confirm", Label: "Really remove? Contacts leave your roster.", Type: form.FieldBoolean, Required: true})
	return f
}

func runUnregister(ctx context.Context, rg *registrar, user jid.JID, sub *form.Form) (string, *form.Form, error) {
	ok, err := sub.Bool("confirm")
	if err != nil || !ok {
		return "Nothing removed.", nil, nil
	}
	var id AccountID
	if name := strings.TrimSpace(sub.Value("account")); name != "" {
		if id, err = rg.findAccount(user, name); err != nil {
			return "", nil, err
		}
	}
	n, err := rg.unregister(ctx, user, id)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("Removed %d %s account(s).", n, rg.info.Name), nil, nil
}

// findAccount picks the user's stored account that name designates: its
// ID, its name (any case), or a part of its name that only it has (a
// workspace's name or domain). A name that matches none or several is an
// ErrNotFound error listing the accounts the user has, so that a
// registered user who mistyped is never told they are not registered.
func (rg *registrar) findAccount(user jid.JID, name string) (AccountID, error) {
	accts, err := rg.db.UserAccounts(rg.cfg.Name, user.Bare().String())
	if err != nil {
		return "", fmt.Errorf("bridge: list accounts: %w", err)
	}
	if len(accts) == 0 {
		return "", ErrNotRegistered
	}
	lower := strings.ToLower(name)
	var partial []AccountID
	for _, a := range accts {
		label := a.Settings[settingName]
		if a.Remote == name || strings.EqualFold(label, name) {
			return AccountID(a.Remote), nil
		}
		if strings.Contains(strings.ToLower(label), lower) || strings.Contains(strings.ToLower(a.Remote), lower) {
			partial = append(partial, AccountID(a.Remote))
		}
	}
	if len(partial) == 1 {
		return partial[0], nil
	}
	var names []string
	for _, a := range accts {
		names = append(names, accountLabel(a))
	}
	what := "no"
	if len(partial) > 1 {
		what = "more than one"
	}
	return "", &accountChoiceError{fmt.Sprintf("You have %s %s account matching %q. Yours: %s.", what, rg.info.Name, echo(name), strings.Join(names, "; "))}
}

// accountChoiceError says which accounts a user has when a command named
// none or several of them; it is an ErrNotFound.
type accountChoiceError struct{ text string }

func (e *accountChoiceError) Error() string { return e.text }
func (e *accountChoiceError) Unwrap() error { return ErrNotFound }

// accountsOffError says a registered user has no account logged in right
// now (all disabled, logging in or logged out), with what to do.
type accountsOffError struct{ text string }

func (e *accountsOffError) Error() string { return e.text }

// notLoggedIn explains to a user with no live account why, distinguishing
// a user who has stored accounts from one who has none.
func notLoggedIn(db *store.DB, instance string, info Info, domain jid.JID, user jid.JID) error {
	accts, err := db.UserAccounts(instance, user.Bare().String())
	if err != nil || len(accts) == 0 {
		return ErrNotRegistered
	}
	for _, a := range accts {
		if !a.Disabled {
			return &accountsOffError{fmt.Sprintf("Your %s account is not logged in yet; send \"status\" to %s to see why.", info.Name, domain)}
		}
	}
	return &accountsOffError{fmt.Sprintf("You are logged out of %s (you unsubscribed from %s); subscribe to it again to log in.", info.Name, domain)}
}

// accountLabel names a stored account the way status shows it and
// unregister accepts it: its name and its ID.
func accountLabel(a store.Account) string {
	if name := a.Settings[settingName]; name != "" && name != a.Remote {
		return fmt.Sprintf("%s [id %s]", name, a.Remote)
	}
	return a.Remote
}

// runStatus lists every stored account of the user, with the name and ID
// that unregister accepts and its state, logged-out and disabled ones
// included.
func runStatus(_ context.Context, rg *registrar, user jid.JID, _ *form.Form) (string, *form.Form, error) {
	stored, err := rg.db.UserAccounts(rg.cfg.Name, user.Bare().String())
	if err != nil {
		return "", nil, fmt.Errorf("bridge: list accounts: %w", err)
	}
	if len(stored) == 0 {
		return fmt.Sprintf("You have no %s account here. Send \"register\" or use the Register command.", rg.info.Name), nil, nil
	}
	res := &form.Form{Type: form.TypeResult, Title: "Your " + rg.info.Name + " accounts",
		Reported: []form.Field{{Var: "name", Label: "Account"}, {Var: "id", Label: "ID"}, {Var: "state", Label: "State"}}}
	lines := []string{fmt.Sprintf("Your %s account(s):", rg.info.Name)}
	for _, a := range stored {
		state := storedState(rg, a)
		lines = append(lines, "• "+accountLabel(a)+": "+state)
		res.Items = append(res.Items, []form.Field{
			{Var: "name", Values: []string{a.Settings[settingName]}},
			{Var: "id", Values: []string{a.Remote}},
			{Var: "state", Values: []string{state}},
		})
	}
	lines = append(lines, "To remove one, send \"unregister\" and its name or ID (or nothing, for all of them).")
	return strings.Join(lines, "\n"), res, nil
}

// storedState describes the login state of a stored account.
func storedState(rg *registrar, a store.Account) string {
	if acc := rg.accounts.byKey(a.AccountKey); acc != nil {
		_, state, reason := acc.snapshot()
		switch state {
		case LoggedIn:
			return "connected"
		case Connecting:
			if reason != "" {
				return "connecting (last error: " + reason + ")"
			}
			return "connecting"
		}
		return "logged out (" + reason + "); register again to reconnect"
	}
	if a.Disabled {
		return "logged out because you unsubscribed from " + rg.domain.String() + "; subscribe to it again to log in"
	}
	if a.LastError != "" {
		return "logged out: " + a.LastError
	}
	return "not started"
}

func runUsers(_ context.Context, rg *registrar, _ jid.JID, _ *form.Form) (string, *form.Form, error) {
	accts, err := rg.db.Accounts(rg.cfg.Name)
	if err != nil {
		return "", nil, err
	}
	res := &form.Form{Type: form.TypeResult, Title: "Registered accounts",
		Reported: []form.Field{{Var: "jid", Label: "User"}, {Var: "account", Label: "Account"}, {Var: "state", Label: "State"}}}
	var lines []string
	for _, a := range accts {
		state := "disabled"
		if acc := rg.accounts.byKey(a.AccountKey); acc != nil {
			state = describeAccount(acc)
		} else if !a.Disabled && a.LastError != "" {
			state = "logged out: " + a.LastError
		}
		res.Items = append(res.Items, []form.Field{
			{Var: "jid", Values: []string{a.User}},
			{Var: "account", Values: []string{a.Remote}},
			{Var: "state", Values: []string{state}},
		})
		lines = append(lines, fmt.Sprintf("%s %s: %s", a.User, a.Remote, state))
	}
	return fmt.Sprintf("%d account(s).\n%s", len(accts), strings.Join(lines, "\n")), res, nil
}

func runBackup(ctx context.Context, rg *registrar, _ jid.JID, _ *form.Form) (string, *form.Form, error) {
	path, size, err := rg.cfg.Backup(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("backup failed: %w", err)
	}
	return fmt.Sprintf("Backup written to %s (%d bytes).", path, size), nil, nil
}

// offlineStatus is the gateway's presence status for a user with no live
// account: "Not registered" only when that is true.
func offlineStatus(db *store.DB, instance string, domain, user jid.JID) string {
	accts, err := db.UserAccounts(instance, user.Bare().String())
	if err != nil || len(accts) == 0 {
		return "Not registered"
	}
	disabled := 0
	for _, a := range accts {
		if a.Disabled {
			disabled++
		}
	}
	if disabled == len(accts) {
		return "Logged out (you unsubscribed from " + domain.String() + "); subscribe again to log in"
	}
	return fmt.Sprintf("%d account(s) not logged in; send \"status\" for details", len(accts)-disabled)
}
