package jid

import (
	"encoding"
	"strings"
)

// JID is a valid XMPP address in canonical form, or the zero value (the empty
// JID, which String renders as ""). A JID holds its three parts already
// enforced, so two JIDs denote the same address exactly when they are == and
// a JID can be a map key. JIDs are immutable values, safe to share between
// goroutines.
type JID struct {
	local    string
	domain   string
	resource string
}

var (
	_ encoding.TextMarshaler   = JID{}
	_ encoding.TextUnmarshaler = (*JID)(nil)
)

// Parse parses s, in the form [localpart "@"] domainpart ["/" resourcepart],
// and returns the JID in canonical form. As RFC 7622 section 3.1 says, the
// resourcepart starts after the first "/" and the localpart ends at the first
// "@" before it, so "a/b@c" is the domain "a" with the resource "b@c".
// An empty s and an empty part after a separator ("@d", "d/", "a@", "/r")
// are errors. Every error wraps ErrMalformed.
func Parse(s string) (JID, error) {
	if s == "" {
		return JID{}, malformed("jid", "empty", nil)
	}
	rest, resource, hasResource := strings.Cut(s, "/")
	local, domain, hasLocal := strings.Cut(rest, "@")
	if !hasLocal {
		local, domain = "", rest
	}
	if hasLocal && local == "" {
		return JID{}, malformed("localpart", "empty", nil)
	}
	if hasResource && resource == "" {
		return JID{}, malformed("resourcepart", "empty", nil)
	}
	return New(local, domain, resource)
}

// MustParse is like Parse but panics if s is not a valid JID. It is meant for
// tests and for package-level values built from constants.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

// New builds a JID from its parts, enforcing RFC 7622 on each. An empty local
// or resource means the JID has no such part; the domain is required. Every
// error wraps ErrMalformed.
func New(local, domain, resource string) (JID, error) {
	var j JID
	var err error
	if j.domain, err = prepareDomain(domain); err != nil {
		return JID{}, err
	}
	if local != "" {
		if j.local, err = prepareLocal(local); err != nil {
			return JID{}, err
		}
	}
	if resource != "" {
		if j.resource, err = prepareResource(resource); err != nil {
			return JID{}, err
		}
	}
	return j, nil
}

// Local returns the localpart in canonical form, or "" if there is none.
func (j JID) Local() string { return j.local }

// Domain returns the domainpart in canonical form, or "" for the zero JID.
func (j JID) Domain() string { return j.domain }

// Resource returns the resourcepart in canonical form, or "" if there is
// none.
func (j JID) Resource() string { return j.resource }

// Bare returns j without its resourcepart.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// Domainpart returns the JID made of j's domainpart alone.
func (j JID) Domainpart() JID { return JID{domain: j.domain} }

// WithResource returns j with its resourcepart replaced by r, enforced; an
// empty r returns j.Bare(). It fails (wrapping ErrMalformed) if r is not a
// valid resourcepart or j is the zero JID.
func (j JID) WithResource(r string) (JID, error) {
	if j.domain == "" {
		return JID{}, malformed("domainpart", "empty", nil)
	}
	if r == "" {
		return j.Bare(), nil
	}
	res, err := prepareResource(r)
	if err != nil {
		return JID{}, err
	}
	j.resource = res
	return j, nil
}

// WithLocal returns j with its localpart replaced by l, enforced; an empty l
// removes the localpart. It fails (wrapping ErrMalformed) if l is not a valid
// localpart or j is the zero JID.
func (j JID) WithLocal(l string) (JID, error) {
	if j.domain == "" {
		return JID{}, malformed("domainpart", "empty", nil)
	}
	if l == "" {
		j.local = ""
		return j, nil
	}
	loc, err := prepareLocal(l)
	if err != nil {
		return JID{}, err
	}
	j.local = loc
	return j, nil
}

// IsZero reports whether j is the zero (empty) JID.
func (j JID) IsZero() bool { return j == JID{} }

// IsBare reports whether j has no resourcepart. The zero JID is bare.
func (j JID) IsBare() bool { return j.resource == "" }

// String returns j in canonical form, "local@domain/resource" with the absent
// parts and their separators left out, or "" for the zero JID. Parse of the
// result returns j.
func (j JID) String() string {
	switch {
	case j.local == "" && j.resource == "":
		return j.domain
	case j.resource == "":
		return j.local + "@" + j.domain
	case j.local == "":
		return j.domain + "/" + j.resource
	}
	return j.local + "@" + j.domain + "/" + j.resource
}

// MarshalText implements encoding.TextMarshaler. It returns String's result;
// the zero JID marshals to empty text.
func (j JID) MarshalText() ([]byte, error) {
	return []byte(j.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. Empty text sets the zero
// JID; anything else must parse. On error *j is left unchanged.
func (j *JID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*j = JID{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*j = p
	return nil
}
