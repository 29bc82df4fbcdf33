package bridge

import (
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// Access says who may use a gateway and who administers it.
type Access struct {
	// Allow lists who may register: "*" for anyone, a domain
	// ("example.org") for its users, or a bare JID. Empty allows only
	// admins.
	Allow []string
	// Admins are bare JIDs allowed to run admin commands. Admins may always
	// register.
	Admins []string
	// UserRate is how many stanzas per second each allowed user (and
	// admin) may send the gateway sustained, in bursts of four times as
	// many; 0 does not limit them. Strangers have a strict rate of their
	// own (see Gateway.senderLimits).
	UserRate float64

	anyone  bool
	domains map[string]bool
	users   map[jid.JID]bool
	admins  map[jid.JID]bool
}

func (a *Access) compile() error {
	a.domains, a.users, a.admins = map[string]bool{}, map[jid.JID]bool{}, map[jid.JID]bool{}
	for _, s := range a.Allow {
		s = strings.TrimSpace(s)
		if s == "*" {
			a.anyone = true
			continue
		}
		j, err := jid.Parse(s)
		if err != nil || j.Resource() != "" {
			return fmt.Errorf("bridge: allow entry %q is not \"*\", a domain or a bare JID", s)
		}
		if j.Local() == "" {
			a.domains[j.Domain()] = true
		} else {
			a.users[j] = true
		}
	}
	for _, s := range a.Admins {
		j, err := jid.Parse(strings.TrimSpace(s))
		if err != nil || j.Local() == "" || j.Resource() != "" {
			return fmt.Errorf("bridge: admin %q is not a bare JID", s)
		}
		a.admins[j] = true
	}
	return nil
}

// Allowed reports whether the user may register and use the gateway.
func (a *Access) Allowed(user jid.JID) bool {
	b := user.Bare()
	return a.anyone || a.admins[b] || a.users[b] || a.domains[b.Domain()]
}

// IsAdmin reports whether the user administers the gateway.
func (a *Access) IsAdmin(user jid.JID) bool { return a.admins[user.Bare()] }
