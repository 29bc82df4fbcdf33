package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
)

// The floor: `xgate-bench echo` is an XEP-0114 component written with the
// standard library alone. It answers every message with the same body, and
// with -post it first makes one keep-alive HTTP POST per message to the
// network's fake and answers once the POST has returned: the least any
// gateway must do per message in each direction. The POST is a real API
// call that makes the fake send no event to xgate: Slack's auth.test with
// a user token in the form, or (-auth and -json) Discord's POST
// /users/@me/channels for a DM that is already open, with the user token
// in Authorization.
// The bench measures its CPU the way it measures xgate's.

// echoMessage is the part of a message the echo reads.
type echoMessage struct {
	XMLName xml.Name `xml:"message"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	ID      string   `xml:"id,attr"`
	Type    string   `xml:"type,attr"`
	Body    string   `xml:"body"`
	// ReplyTo names where the copy goes instead of the sender.
	ReplyTo struct {
		JID string `xml:"jid,attr"`
	} `xml:"urn:xgate:bench reply-to"`
}

// echoMain is `xgate-bench echo`.
func echoMain(args []string) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	server := fs.String("server", "", "the host server's component `ADDRESS`")
	domain := fs.String("domain", "echo.localhost", "the component's `DOMAIN`")
	secret := fs.String("secret", "", "the component `SECRET`")
	post := fs.String("post", "", "POST to this Web API `URL` before answering each message")
	token := fs.String("token", "", "the token of the POSTs, sent in the form")
	auth := fs.String("auth", "", "the Authorization `HEADER` of the POSTs (with -json instead of -token)")
	body := fs.String("json", "", "the JSON `BODY` of the POSTs (with -auth)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p := echoPost{url: *post, token: *token, auth: *auth, json: *body}
	if err := runEcho(*server, *domain, *secret, p); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		return 1
	}
	return 0
}

// echoPost is the POST the echo makes before each answer.
type echoPost struct {
	url   string
	token string // Slack: a form field
	auth  string // Discord: the Authorization header
	json  string // Discord: the body
}

// request builds one POST.
func (p echoPost) request() (*http.Request, error) {
	if p.json != "" {
		req, err := http.NewRequest(http.MethodPost, p.url, strings.NewReader(p.json))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", p.auth)
		return req, nil
	}
	req, err := http.NewRequest(http.MethodPost, p.url, strings.NewReader(url.Values{"token": {p.token}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func runEcho(server, domain, secret string, post echoPost) error {
	conn, err := net.Dial("tcp", server)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='%s'>", domain)
	dec := xml.NewDecoder(bufio.NewReaderSize(conn, 64<<10))
	id := ""
	for id == "" {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("stream header: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					id = a.Value
				}
			}
			if id == "" {
				return errors.New("stream header without id")
			}
		}
	}
	sum := sha1.Sum([]byte(id + secret))
	fmt.Fprintf(conn, "<handshake>%s</handshake>", hex.EncodeToString(sum[:]))

	out := make(chan []byte, 4096)
	var writer, posters sync.WaitGroup
	writer.Go(func() { echoWriter(conn, out) })
	var posts chan []byte
	if post.url != "" {
		posts = make(chan []byte, 4096)
		for range 4 {
			posters.Go(func() { echoPoster(post, posts, out) })
		}
	}
	defer func() {
		if posts != nil {
			close(posts)
			posters.Wait()
		}
		close(out)
		writer.Wait()
	}()
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "handshake":
			if err := dec.Skip(); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "echo: handshake accepted")
		case "message":
			var m echoMessage
			if err := dec.DecodeElement(&m, &se); err != nil {
				return err
			}
			if m.Body == "" || m.Type == "error" {
				continue
			}
			var b strings.Builder
			b.WriteString("<message type='chat' from='")
			xml.EscapeText(&b, []byte(m.To))
			b.WriteString("' to='")
			to := m.From
			if m.ReplyTo.JID != "" {
				to = m.ReplyTo.JID
			}
			xml.EscapeText(&b, []byte(to))
			b.WriteString("' id='")
			xml.EscapeText(&b, []byte(m.ID))
			b.WriteString("'><body>")
			xml.EscapeText(&b, []byte(m.Body))
			b.WriteString("</body></message>")
			if posts != nil {
				posts <- []byte(b.String())
			} else {
				out <- []byte(b.String())
			}
		default:
			if err := dec.Skip(); err != nil {
				return err
			}
		}
	}
}

// echoWriter owns the connection's writes: it writes what is queued and
// flushes when the queue is empty.
func echoWriter(conn net.Conn, out <-chan []byte) {
	w := bufio.NewWriterSize(conn, 64<<10)
	for b := range out {
		w.Write(b)
		for more := true; more; {
			select {
			case b, ok := <-out:
				if !ok {
					w.Flush()
					return
				}
				w.Write(b)
			default:
				more = false
			}
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// echoPoster makes one keep-alive POST per answer, then queues the answer.
func echoPoster(post echoPost, answers <-chan []byte, out chan<- []byte) {
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for a := range answers {
		req, err := post.request()
		var resp *http.Response
		if err == nil {
			resp, err = cl.Do(req)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo: post:", err)
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		out <- a
	}
}
