package prosodytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Namespaces of the c2s stream negotiation.
const (
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsStartTLS = "urn:ietf:params:xml:ns:xmpp-tls"
)

// Client time bounds.
const (
	// loginTimeout bounds Connect when ctx has no earlier deadline.
	loginTimeout = 10 * time.Second
	// writeTimeout bounds one write to the socket.
	writeTimeout = 10 * time.Second
	// closeTimeout bounds how long Close waits for the server's
	// </stream:stream>.
	closeTimeout = 2 * time.Second
)

// ClientConfig is what Connect needs to log in.
type ClientConfig struct {
	// User is the localpart and Host the domain of the account.
	User, Host string
	// Password is checked with SASL PLAIN.
	Password string
	// Resource is the resource to ask for; "" lets the server pick one.
	Resource string
}

// Client is a real XMPP client session through Prosody's c2s port: a TCP
// stream to the host, SASL PLAIN without TLS, resource binding and the
// legacy session request. It sends no initial presence; send
// &xmpp.Presence{} to become available.
//
// One goroutine reads the stream. IQ responses to Request go to their
// waiting caller; every other stanza is appended to an unbounded queue that
// Next and Expect take from. Writes are serialized by a mutex. All methods
// are safe for concurrent use.
type Client struct {
	conn net.Conn
	jid  jid.JID

	wmu sync.Mutex // serializes writes

	mu      sync.Mutex
	queue   []xmpp.Stanza
	dropped []string                 // elements that were not stanzas, as XML
	arrived chan struct{}            // closed and replaced whenever queue grows
	pending map[string]chan *xmpp.IQ // outstanding Requests by id

	done    chan struct{} // closed when the reader exits
	readErr error         // why the reader exited; read after done

	ids       atomic.Uint64
	closing   atomic.Bool // Close sent our closing tag
	closeOnce sync.Once
	closeErr  error
}

// Dial logs user@host in through the c2s listener at addr (Server.C2SAddr)
// and returns the session, failing the test on error. The client is closed
// when the test ends.
func Dial(ctx context.Context, t TB, addr, user, host, password string) *Client {
	t.Helper()
	c, err := Connect(ctx, addr, ClientConfig{User: user, Host: host, Password: password})
	if err != nil {
		t.Fatalf("prosodytest: dial %s@%s: %v", user, host, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Connect is Dial for callers that expect failure or manage the client's
// lifetime themselves: it returns an error (ErrAuthFailed for refused
// credentials) instead of failing a test, and the caller must Close the
// client.
func Connect(ctx context.Context, addr string, cfg ClientConfig) (*Client, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, loginTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("prosodytest: dial %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	c := &Client{
		conn:    conn,
		arrived: make(chan struct{}),
		pending: make(map[string]chan *xmpp.IQ),
		done:    make(chan struct{}),
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	dec, err := c.login(br, cfg)
	// Once stop reports that the deadline callback will not run, clearing
	// the deadline is safe; if it ran, ctx is done and login fails.
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, fmt.Errorf("prosodytest: log in %s@%s: %w", cfg.User, cfg.Host, err)
	}
	_ = conn.SetDeadline(time.Time{})
	go c.read(dec)
	return c, nil
}

// login negotiates the stream up to a bound resource and returns the
// decoder of the final stream. br is shared by the decoders of successive
// streams: a decoder does not read past the element it returns.
func (c *Client) login(br *bufio.Reader, cfg ClientConfig) (*xmpp.Decoder, error) {
	dec, features, err := c.openStream(br, cfg.Host)
	if err != nil {
		return nil, err
	}
	mechs := features.Child(nsSASL, "mechanisms")
	if mechs == nil {
		if features.Child(nsStartTLS, "starttls") != nil {
			return nil, errors.New("server offers no SASL before STARTTLS; prosodytest speaks plain TCP only")
		}
		return nil, errors.New("server offers no SASL mechanisms")
	}
	plain := false
	for _, m := range mechs.Children() {
		plain = plain || m.Text() == "PLAIN"
	}
	if !plain {
		return nil, fmt.Errorf("server does not offer SASL PLAIN: %s", mechs)
	}
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.User + "\x00" + cfg.Password))
	if err := c.writeElement(xmpp.TextElement(nsSASL, "auth", creds).SetAttr("mechanism", "PLAIN")); err != nil {
		return nil, err
	}
	el, err := dec.Next()
	if err != nil {
		return nil, fmt.Errorf("read SASL outcome: %w", err)
	}
	switch {
	case el.Name.Space == nsSASL && el.Name.Local == "success":
	case el.Name.Space == nsSASL && el.Name.Local == "failure":
		cond := "failure"
		if first := el.FirstChild(); first != nil {
			cond = first.Name.Local
		}
		if text := el.ChildText(nsSASL, "text"); text != "" {
			cond += ": " + text
		}
		return nil, fmt.Errorf("%w: %s", ErrAuthFailed, cond)
	default:
		return nil, fmt.Errorf("unexpected SASL answer %s", el)
	}

	dec, features, err = c.openStream(br, cfg.Host)
	if err != nil {
		return nil, err
	}
	if features.Child(nsBind, "bind") == nil {
		return nil, fmt.Errorf("server offers no resource binding: %s", features)
	}
	bind := xmpp.NewElement(nsBind, "bind")
	if cfg.Resource != "" {
		bind.Append(xmpp.TextElement("", "resource", cfg.Resource))
	}
	res, err := c.negotiateIQ(dec, bind)
	if err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	full := res.Payload
	if full != nil {
		full = full.Child(nsBind, "jid")
	}
	if full == nil {
		return nil, errors.New("bind result has no <jid/>")
	}
	if c.jid, err = jid.Parse(full.Text()); err != nil {
		return nil, fmt.Errorf("bound JID: %w", err)
	}
	if features.Child(nsSession, "session") != nil {
		if _, err := c.negotiateIQ(dec, xmpp.NewElement(nsSession, "session")); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	return dec, nil
}

// openStream writes a stream header to host and reads the server's header
// and stream features.
func (c *Client) openStream(br *bufio.Reader, host string) (*xmpp.Decoder, *xmpp.Element, error) {
	header := fmt.Sprintf("<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' to='%s' version='1.0'>",
		xmpp.NSClient, xmpp.NSStream, escapeAttr(host))
	if err := c.write([]byte(header)); err != nil {
		return nil, nil, err
	}
	dec := xmpp.NewDecoder(br, xmpp.Limits{})
	if _, err := dec.ReadHeader(); err != nil {
		return nil, nil, fmt.Errorf("read stream header: %w", err)
	}
	features, err := dec.Next()
	if err != nil {
		return nil, nil, fmt.Errorf("read stream features: %w", err)
	}
	if features.Name.Space != xmpp.NSStream || features.Name.Local != "features" {
		return nil, nil, fmt.Errorf("expected <stream:features/>, got %s", features)
	}
	return dec, features, nil
}

// negotiateIQ sends an iq set during login, before the reader runs, and
// reads its result.
func (c *Client) negotiateIQ(dec *xmpp.Decoder, payload *xmpp.Element) (*xmpp.IQ, error) {
	id := c.NewID()
	if err := c.Send(&xmpp.IQ{Header: xmpp.Header{ID: id, Type: xmpp.IQSet}, Payload: payload}); err != nil {
		return nil, err
	}
	el, err := dec.Next()
	if err != nil {
		return nil, err
	}
	s, err := xmpp.Parse(el)
	if err != nil {
		return nil, fmt.Errorf("answer %s: %w", el, err)
	}
	iq, ok := s.(*xmpp.IQ)
	if !ok || iq.ID != id {
		return nil, fmt.Errorf("expected the answer to iq %s, got %s", id, el)
	}
	if iq.Type != xmpp.IQResult {
		if iq.Error != nil {
			return nil, iq.Error
		}
		return nil, fmt.Errorf("iq %s answered with type %q", id, iq.Type)
	}
	return iq, nil
}

// escapeAttr escapes s for a single-quoted attribute.
func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", "'", "&apos;", `"`, "&quot;").Replace(s)
}

// JID returns the full JID the server bound for this session.
func (c *Client) JID() jid.JID { return c.jid }

// NewID returns a stanza id unique within this client.
func (c *Client) NewID() string { return fmt.Sprintf("pt%d", c.ids.Add(1)) }

// Send writes a stanza. Its children in no namespace, or in jabber:client,
// are written in the stream's jabber:client namespace; an empty From is
// filled in by the server.
func (c *Client) Send(s xmpp.Stanza) error { return c.writeElement(s.Element()) }

// SendRaw writes xml to the stream as is.
func (c *Client) SendRaw(xml string) error { return c.write([]byte(xml)) }

func (c *Client) writeElement(el *xmpp.Element) error {
	var b bytes.Buffer
	el.WriteXML(&b, xmpp.NSClient)
	return c.write(b.Bytes())
}

// write sends b in one bounded write.
func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("%w: write: %w", ErrClosed, err)
	}
	return nil
}

// Close ends the stream with </stream:stream>, waits briefly for the
// server's own closing tag and closes the connection. When the stream is
// already over (the server ended it, or the connection broke) there is
// nothing to do and it returns nil. It is idempotent; later calls return
// the first result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		var err error
		select {
		case <-c.done:
			// The stream is over and the reader closed the connection.
		default:
			c.closing.Store(true)
			err = c.write([]byte("</stream:stream>"))
			if errors.Is(err, net.ErrClosed) {
				err = nil // the reader closed it in the meantime
			}
		}
		timer := time.NewTimer(closeTimeout)
		defer timer.Stop()
		if err == nil {
			select {
			case <-c.done:
			case <-timer.C:
			}
		}
		if cerr := c.conn.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
		<-c.done
		if err != nil {
			c.closeErr = fmt.Errorf("prosodytest: close %s: %w", c.jid, err)
		}
	})
	return c.closeErr
}
