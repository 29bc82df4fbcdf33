package discord

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// TestFilesBothWays: the XMPP user's XEP-0066 links are uploaded to
// Discord as files (the link line dropped from the text), a file larger
// than Discord takes bounces with nothing sent, an unreachable one goes as
// a link; Discord's attachments come with their link, name, size and type.
func TestFilesBothWays(t *testing.T) {
	w := newWorld(t, allPrivileged)
	tr := w.transport()
	s, rec := w.login(tr)
	ctx := bounded(t, 20*time.Second)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 500)...)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/photo.png":
			_, _ = rw.Write(png)
		case "/big.bin":
			rw.Header().Set("Content-Length", strconv.Itoa(discordfake.MaxUpload+1))
			_, _ = rw.Write(make([]byte, discordfake.MaxUpload+1))
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(srv.Close)

	photo := bridge.Attachment{URL: srv.URL + "/photo.png", Name: "photo.png", MIME: "image/png", Size: int64(len(png))}
	id, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "look\n" + photo.URL, Attachments: []bridge.Attachment{photo}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := w.fake.Message(w.aliceBob, string(id))
	if m.Content != "look" || len(m.Attachments) != 1 || m.Attachments[0].Filename != "photo.png" ||
		m.Attachments[0].ContentType != "image/png" || !bytes.Equal(m.Attachments[0].Data, png) {
		t.Errorf("on Discord: %q with %+v", m.Content, m.Attachments)
	}

	before := len(w.fake.Messages(w.aliceBob))
	for _, big := range []bridge.Attachment{
		{URL: srv.URL + "/big.bin", Name: "big.bin"},                                         // found too large while fetching
		{URL: srv.URL + "/big.bin", Name: "big.bin", Size: int64(discordfake.MaxUpload) + 1}, // declared too large
	} {
		_, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "huge", Attachments: []bridge.Attachment{big}})
		if !errors.Is(err, ErrFileTooLarge) || !errors.Is(err, bridge.ErrInvalidInput) {
			t.Errorf("a file over the limit (declared size %d): %v, want ErrFileTooLarge", big.Size, err)
		}
	}
	if n := len(w.fake.Messages(w.aliceBob)); n != before {
		t.Errorf("%d messages sent for files over the limit", n-before)
	}

	gone := bridge.Attachment{URL: srv.URL + "/gone.txt", Name: "gone.txt"}
	id, err = s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: gone.URL, Attachments: []bridge.Attachment{gone}})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := w.fake.Message(w.aliceBob, string(id)); m.Content != gone.URL || len(m.Attachments) != 0 {
		t.Errorf("an unreachable file: %q with %d files, want its link", m.Content, len(m.Attachments))
	}

	notes := []byte("minutes of the meeting\n")
	rid := w.fake.Post(w.bob.ID, w.aliceBob, "the notes", discordfake.WithAttachment("notes.txt", "text/plain", notes))
	got := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(rid) })
	if len(got.Attachments) != 1 {
		t.Fatalf("attachments %+v", got.Attachments)
	}
	a := got.Attachments[0]
	if a.Name != "notes.txt" || a.MIME != "text/plain" || a.Size != int64(len(notes)) {
		t.Errorf("incoming attachment %+v", a)
	}
	resp, err := http.Get(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, notes) {
		t.Errorf("the attachment's link answers %d %q", resp.StatusCode, body)
	}
}
