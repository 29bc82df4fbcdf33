package ejabberdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// Namespaces of in-band registration (XEP-0077).
const (
	nsRegister        = "jabber:iq:register"
	nsRegisterFeature = "http://jabber.org/features/iq-register"
)

// register creates the accounts users (localpart → password) on host
// in-band (XEP-0077) over one unauthenticated c2s stream to addr: the
// requests are written at once and the answers read in any order. It is
// much faster than "ejabberdctl register", which starts an Erlang node per
// account.
func register(ctx context.Context, addr, host string, users map[string]string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("ejabberdtest: register on %s: %w", host, err)
		}
	}()
	for user, password := range users {
		if user == "" || password == "" {
			return fmt.Errorf("account %q: empty localpart or password", user)
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' to='%s' version='1.0'>",
		xmpp.NSClient, xmpp.NSStream, escapeAttr(host))
	if _, err := conn.Write(b.Bytes()); err != nil {
		return err
	}
	dec := xmpp.NewDecoder(conn, xmpp.Limits{})
	if _, err := dec.ReadHeader(); err != nil {
		return fmt.Errorf("read stream header: %w", err)
	}
	features, err := dec.Next()
	if err != nil {
		return fmt.Errorf("read stream features: %w", err)
	}
	if features.Child(nsRegisterFeature, "register") == nil {
		return fmt.Errorf("the server offers no in-band registration: %s", features)
	}

	names := make([]string, 0, len(users))
	for user := range users {
		names = append(names, user)
	}
	slices.Sort(names)
	b.Reset()
	pending := make(map[string]string, len(names)) // iq id → localpart
	for i, user := range names {
		id := "reg" + strconv.Itoa(i)
		pending[id] = user
		iq := &xmpp.IQ{
			Header: xmpp.Header{ID: id, Type: xmpp.IQSet},
			Payload: xmpp.NewElement(nsRegister, "query").Append(
				xmpp.TextElement("", "username", user),
				xmpp.TextElement("", "password", users[user]),
			),
		}
		iq.Element().WriteXML(&b, xmpp.NSClient)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return err
	}
	var errs []error
	for len(pending) > 0 {
		el, err := dec.Next()
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("%d answer(s) missing: %w", len(pending), err))...)
		}
		s, err := xmpp.Parse(el)
		if err != nil {
			continue
		}
		iq, ok := s.(*xmpp.IQ)
		if !ok {
			continue
		}
		user, ok := pending[iq.ID]
		if !ok {
			continue
		}
		delete(pending, iq.ID)
		switch {
		case iq.Type == xmpp.IQResult:
		case iq.Error != nil:
			errs = append(errs, fmt.Errorf("%w: %s@%s: %w", ErrRegister, user, host, iq.Error))
		default:
			errs = append(errs, fmt.Errorf("%w: %s@%s: answer %s", ErrRegister, user, host, el))
		}
	}
	_, _ = conn.Write([]byte("</stream:stream>"))
	return errors.Join(errs...)
}

// escapeAttr escapes s for a single-quoted attribute.
func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", "'", "&apos;", `"`, "&quot;").Replace(s)
}
