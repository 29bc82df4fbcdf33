package bridge_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/kit/attach"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// fileNet is the fake network as a bridge.FileSource.
type fileNet struct {
	*bridgetest.Transport
	fetcher *attach.Fetcher
}

func (n fileNet) FileFetcher() *attach.Fetcher { return n.fetcher }

var catPNG = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{3}, 200)...)

// fileHost stands for the network's file host (/cat.png, /big.bin) and
// for the upload service's HTTP side (PUT /put/..., GET /get/...).
type fileHost struct {
	srv     *httptest.Server
	mu      sync.Mutex
	fetches int
	files   map[string][]byte
	puts    []http.Header
}

func newFileHost(t *testing.T) *fileHost {
	h := &fileHost{files: map[string][]byte{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		switch {
		case r.URL.Path == "/cat.png":
			h.fetches++
			w.Write(catPNG)
		case r.URL.Path == "/big.bin":
			h.fetches++
			w.Write(make([]byte, 5000))
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/put/"):
			b, _ := io.ReadAll(r.Body)
			h.puts = append(h.puts, r.Header.Clone())
			h.files[strings.TrimPrefix(r.URL.Path, "/put/")] = b
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/get/"):
			b, ok := h.files[strings.TrimPrefix(r.URL.Path, "/get/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fileHost) get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := h.srv.Client().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return b
}

// withFiles is withBob on a network whose files the bridge re-hosts.
func withFiles(t *testing.T, h *fileHost, mods ...func(*bridge.Config)) *env {
	t.Helper()
	tr := bridgetest.New()
	e := &env{t: t, srv: xmpptest.NewServer(t, "secret"), tr: tr, net: fileNet{Transport: tr, fetcher: &attach.Fetcher{Client: h.srv.Client()}}, key: testKey(t)}
	e.dbPath = t.TempDir() + "/xgate.db"
	e.openDB()
	e.start(mods...)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob Builder"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	return e
}

// expectGet returns the next iq get the gateway sent to `to` with a
// payload of ns.
func (e *env) expectGet(to, ns string) *xmpp.IQ {
	e.t.Helper()
	return e.expect(func(s xmpp.Stanza) bool {
		iq, ok := s.(*xmpp.IQ)
		return ok && iq.Type == xmpp.IQGet && iq.To.String() == to && iq.Payload != nil && iq.Payload.Name.Space == ns
	}).(*xmpp.IQ)
}

// answer sends the result or error of iq, as its addressee.
func (e *env) answer(iq *xmpp.IQ, inner string) {
	e.t.Helper()
	typ := "result"
	if strings.HasPrefix(inner, "<error") {
		typ = "error"
	}
	e.send(`<iq type='%s' id='%s' from='%s' to='%s'>%s</iq>`, typ, iq.ID, iq.To, iq.From, inner)
}

// emitAsync emits ev in the background (the gateway waits for the test's
// answers inside Emit) and returns Emit's error.
func (e *env) emitAsync(ev bridge.MessageEvent) <-chan error {
	done := make(chan error, 1)
	go func() { done <- e.tr.Emit(e.ctx(), "acct-a", ev) }()
	return done
}

const (
	discoItems   = "http://jabber.org/protocol/disco#items"
	discoInfo    = "http://jabber.org/protocol/disco#info"
	uploadInfo   = `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='store' type='file' name='Upload'/><feature var='urn:xmpp:http:upload:0'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:http:upload:0</value></field><field var='max-file-size'><value>4096</value></field></x></query>`
	fileTooLarge = `<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>100</max-file-size></file-too-large></error>`
)

// oobURL returns the XEP-0066 URL of a message.
func oobURL(m *xmpp.Message) string {
	for _, x := range m.Extra {
		if x.Name.Space == bridge.NSOOB {
			return x.ChildText("", "url")
		}
	}
	return ""
}

// TestRehostDiscovered: the gateway finds the upload service among the
// host domain's items, asks it for a slot, PUTs the file with the slot's
// allowed headers only, and delivers the GET URL; the next file needs no
// discovery; what the service refuses, or what is larger than its limit,
// keeps the network's link with a note, and the message still arrives.
func TestRehostDiscovered(t *testing.T) {
	h := newFileHost(t)
	e := withFiles(t, h)
	cat := bridge.Attachment{URL: h.srv.URL + "/cat.png?ex=1", Name: "cat.png", MIME: "image/png", Size: int64(len(catPNG))}

	done := e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "f1", Attachments: []bridge.Attachment{cat}})
	items := e.expectGet("example.org", discoItems)
	if items.From.String() != domain {
		t.Fatalf("disco#items from %s", items.From)
	}
	e.answer(items, `<query xmlns='http://jabber.org/protocol/disco#items'><item jid='conference.example.org'/><item jid='upload.example.org'/></query>`)
	e.answer(e.expectGet("conference.example.org", discoInfo), `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' type='text'/><feature var='http://jabber.org/protocol/muc'/></query>`)
	e.answer(e.expectGet("upload.example.org", discoInfo), uploadInfo)
	req := e.expectGet("upload.example.org", bridge.NSHTTPUpload)
	if r := req.Payload; r.Name.Local != "request" || r.AttrValue("filename") != "cat.png" || r.AttrValue("size") != fmt.Sprint(len(catPNG)) || r.AttrValue("content-type") != "image/png" {
		t.Fatalf("slot request %s", req.Element())
	}
	get := h.srv.URL + "/get/1/cat.png"
	e.answer(req, `<slot xmlns='urn:xmpp:http:upload:0'><put url='`+h.srv.URL+`/put/1/cat.png'><header name='Authorization'>Bearer slot-1</header><header name='X-Evil'>1</header></put><get url='`+get+`'/></slot>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
	if m.Body != get || oobURL(m) != get {
		t.Fatalf("message %s, want the GET URL as body and OOB", m.Element())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := h.get(t, get); !bytes.Equal(got, catPNG) {
		t.Fatalf("served %d bytes, want the %d of the file", len(got), len(catPNG))
	}
	h.mu.Lock()
	put := h.puts[0]
	h.mu.Unlock()
	if put.Get("Authorization") != "Bearer slot-1" || put.Get("X-Evil") != "" || put.Get("Content-Type") != "image/png" {
		t.Errorf("PUT headers %v", put)
	}

	// Two files: the first over the service's limit (4096, from its form)
	// is not even downloaded; the second is re-hosted with no discovery.
	big := bridge.Attachment{URL: h.srv.URL + "/big.bin", Name: "big.bin", Size: 5000}
	cat2 := cat
	cat2.URL = h.srv.URL + "/cat.png?ex=9"
	done = e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "f2", Text: "two files", Attachments: []bridge.Attachment{big, cat2}})
	req = e.expectGet("upload.example.org", bridge.NSHTTPUpload)
	if req.Payload.AttrValue("filename") != "cat.png" {
		t.Fatalf("slot request %s, want the one for cat.png", req.Element())
	}
	get2 := h.srv.URL + "/get/2/cat.png"
	e.answer(req, `<slot xmlns='urn:xmpp:http:upload:0'><put url='`+h.srv.URL+`/put/2/cat.png'/><get url='`+get2+`'/></slot>`)
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
	want := "two files\n[big.bin was not copied to the server (it is too large to copy); the link below is the network's: it may expire or need a login there]\n" + big.URL + "\n" + get2
	if m.Body != want || oobURL(m) != big.URL {
		t.Fatalf("body %q\nwant %q", m.Body, want)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Refusals keep the network's link, with a note: a PUT refused (404);
	// a slot not allowed; too
	// large, which teaches the gateway the limit (100 bytes), so that the
	// next file is not even asked for.
	for i, refusal := range []struct{ answer, why string }{
		{`<slot xmlns='urn:xmpp:http:upload:0'><put url='` + h.srv.URL + `/nowhere'/><get url='` + h.srv.URL + `/get/x'/></slot>`, "the upload service refused it"},
		{`<error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, "the upload service refused it"},
		{fileTooLarge, "it is too large to copy"},
		{"", "it is too large to copy"},
	} {
		other := cat
		other.URL = fmt.Sprint(h.srv.URL, "/cat.png?ex=", i+2) // not the file copied above
		done = e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: bridge.MessageID(fmt.Sprint("r", i)), Attachments: []bridge.Attachment{other}})
		if refusal.answer != "" {
			e.answer(e.expectGet("upload.example.org", bridge.NSHTTPUpload), refusal.answer)
		}
		m = e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
		if !strings.Contains(m.Body, refusal.why) || oobURL(m) != other.URL || !strings.HasSuffix(m.Body, "\n"+other.URL) {
			t.Fatalf("refusal %d: body %q oob %q", i, m.Body, oobURL(m))
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// The file copied first, seen again (a redelivery, another account's
	// copy of a group message), is not copied again.
	done = e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "again", Text: "again", Attachments: []bridge.Attachment{cat}})
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
	if m.Body != "again\n"+get || oobURL(m) != get {
		t.Fatalf("the same file again: %s", m.Element())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	fetches := h.fetches
	h.mu.Unlock()
	if fetches != 5 {
		t.Errorf("%d downloads, want 5 (cat.png for each slot asked for)", fetches)
	}
	if snap := e.gw.Metrics().Snapshot(); snap.Events["file_rehosted"] != 3 || snap.Events["file_not_rehosted"] != 5 {
		t.Errorf("counted %d re-hosted and %d not, want 3 and 5", snap.Events["file_rehosted"], snap.Events["file_not_rehosted"])
	}
}

// TestRehostWithoutService: with no upload service on the host domain,
// files keep their links with a note, and the next file does not ask
// again; with upload_service "none" nothing is asked and nothing noted;
// a configured service is asked for its limit, then for slots.
func TestRehostWithoutService(t *testing.T) {
	h := newFileHost(t)
	cat := bridge.Attachment{URL: h.srv.URL + "/cat.png", Name: "cat.png", MIME: "image/png"}
	note := "[cat.png was not copied to the server (the server has no upload service for the gateway); the link below is the network's: it may expire or need a login there]\n" + cat.URL

	t.Run("none found", func(t *testing.T) {
		e := withFiles(t, h)
		done := e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "n1", Attachments: []bridge.Attachment{cat}})
		items := e.expectGet("example.org", discoItems)
		e.answer(items, `<query xmlns='http://jabber.org/protocol/disco#items'><item jid='conference.example.org'/><item jid='gone.example.org'/></query>`)
		e.answer(e.expectGet("conference.example.org", discoInfo), `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' type='text'/></query>`)
		e.answer(e.expectGet("gone.example.org", discoInfo), `<error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`)
		for i := range 2 {
			m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
			if m.Body != note || oobURL(m) != cat.URL {
				t.Fatalf("message %d: %s", i, m.Element())
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				// The second message: no discovery again (an iq
				// would come before the message, unanswered).
				done = e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "n2", Attachments: []bridge.Attachment{cat}})
			}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.fetches != 0 {
			t.Errorf("%d downloads without an upload service", h.fetches)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := withFiles(t, h, func(c *bridge.Config) { c.Upload.Service = bridge.UploadServiceNone })
		if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "o1", Attachments: []bridge.Attachment{cat}}); err != nil {
			t.Fatal(err)
		}
		m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
		if m.Body != cat.URL || oobURL(m) != cat.URL {
			t.Fatalf("message %s", m.Element())
		}
	})
	t.Run("configured", func(t *testing.T) {
		e := withFiles(t, h, func(c *bridge.Config) { c.Upload.Service = "files.example.net" })
		done := e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "c1", Attachments: []bridge.Attachment{cat}})
		e.answer(e.expectGet("files.example.net", discoInfo), uploadInfo)
		req := e.expectGet("files.example.net", bridge.NSHTTPUpload)
		get := h.srv.URL + "/get/c/cat.png"
		e.answer(req, `<slot xmlns='urn:xmpp:http:upload:0'><put url='`+h.srv.URL+`/put/c/cat.png'/><get url='`+get+`'/></slot>`)
		m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" && m.Body != "" })
		if m.Body != get {
			t.Fatalf("message %s", m.Element())
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestRehostSkipsEchoes: the network's copy of a file the user sent
// through the gateway is dropped, so its file is not copied (no iq to the
// server), while a file the user sent from another client is.
func TestRehostSkipsEchoes(t *testing.T) {
	h := newFileHost(t)
	e := withFiles(t, h, func(c *bridge.Config) { c.Upload.Service = "files.example.net" })
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>%s/cat.png</body><x xmlns='jabber:x:oob'><url>%s/cat.png</url></x></message>`, h.srv.URL, h.srv.URL)
	sent, err := e.tr.WaitSent(e.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	cat := bridge.Attachment{URL: h.srv.URL + "/cat.png?echo", Name: "cat.png"}
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: sent[0].ID, Attachments: []bridge.Attachment{cat}}); err != nil {
		t.Fatal(err)
	}
	// From another client: copied; the first iq the server sees is for it.
	done := e.emitAsync(bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: "phone1", Attachments: []bridge.Attachment{cat}})
	iq := e.expect(func(s xmpp.Stanza) bool { _, ok := s.(*xmpp.IQ); return ok }).(*xmpp.IQ)
	if iq.To.String() != "files.example.net" || iq.Payload.Name.Space != discoInfo {
		t.Fatalf("first iq %s", iq.Element())
	}
	e.answer(iq, uploadInfo)
	get := h.srv.URL + "/get/e/cat.png"
	e.answer(e.expectGet("files.example.net", bridge.NSHTTPUpload), `<slot xmlns='urn:xmpp:http:upload:0'><put url='`+h.srv.URL+`/put/e/cat.png'/><get url='`+get+`'/></slot>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "phone1" })
	if !strings.HasSuffix(m.Body, get) {
		t.Fatalf("message %s", m.Element())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
