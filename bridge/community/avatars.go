package community

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/kit/attach"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Bounds of the occupants' pictures.
const (
	// avatarWait is the longest a message waits for its sender's picture;
	// a slower picture is used from the sender's next message on.
	avatarWait = 2 * time.Second
	// avatarTTL is how long an occupant's picture (or the absence of one)
	// is used before the vCard is asked for again.
	avatarTTL = time.Hour
	// avatarRetry is how long a failed vCard request or upload is
	// remembered.
	avatarRetry = 5 * time.Minute
	// avatarFetchTimeout bounds one vCard request and its upload.
	avatarFetchTimeout = 30 * time.Second
	// avatarMaxSize bounds a picture, decoded.
	avatarMaxSize = 1 << 20
	// avatarMaxEntries bounds each cache; expired entries are swept when
	// it is reached, and the cache of uploads is emptied.
	avatarMaxEntries = 4096
)

const nsVCard = "vcard-temp"

// avatars finds the pictures of the room's XMPP occupants for the
// networks: the PHOTO of the occupant's vCard (XEP-0054, asked through the
// room, which hands it to the occupant's server), uploaded once per
// content to the host server's upload service (XEP-0363). It is safe for
// concurrent use.
type avatars struct {
	up   attach.Uploader
	comp Component
	from jid.JID // the listener, which asks
	room jid.JID
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex
	byNick map[string]*avatar
	byHash map[string]string // uploaded pictures' URLs, by SHA-1
}

// avatar is what is known of one occupant's picture.
type avatar struct {
	done  chan struct{} // closed once url and until are set
	url   string        // "" for none
	until time.Time
}

func newAvatars(up attach.Uploader, comp Component, from, room jid.JID, log *slog.Logger) *avatars {
	return &avatars{
		up: up, comp: comp, from: from, room: room, log: log, now: time.Now,
		byNick: map[string]*avatar{}, byHash: map[string]string{},
	}
}

// url returns the URL of the picture of the occupant nick, or "" when it
// has none or it is not known within avatarWait (it is then looked for in
// the background, for the next message).
func (a *avatars) url(ctx context.Context, nick string) string {
	if a == nil || a.up == nil {
		return ""
	}
	a.mu.Lock()
	e := a.byNick[nick]
	if e == nil || (isClosed(e.done) && !a.now().Before(e.until)) {
		e = &avatar{done: make(chan struct{})}
		a.sweep()
		a.byNick[nick] = e
		go a.fetch(context.WithoutCancel(ctx), nick, e)
	}
	a.mu.Unlock()
	t := time.NewTimer(avatarWait)
	defer t.Stop()
	select {
	case <-e.done:
		return e.url
	case <-t.C:
	case <-ctx.Done():
	}
	return ""
}

// sweep drops expired entries when the caches are full. Under a.mu.
func (a *avatars) sweep() {
	if len(a.byNick) >= avatarMaxEntries {
		now := a.now()
		for nick, e := range a.byNick {
			if isClosed(e.done) && !now.Before(e.until) {
				delete(a.byNick, nick)
			}
		}
	}
	if len(a.byHash) >= avatarMaxEntries {
		clear(a.byHash)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// fetch finds the picture of nick and settles e.
func (a *avatars) fetch(ctx context.Context, nick string, e *avatar) {
	ctx, cancel := context.WithTimeout(ctx, avatarFetchTimeout)
	defer cancel()
	u, err := a.find(ctx, nick)
	ttl := avatarTTL
	if err != nil {
		ttl = avatarRetry
		a.log.Info("an occupant's picture could not be had; their messages go without it for now", "nick", nick, "err", err)
	}
	e.url, e.until = u, a.now().Add(ttl)
	close(e.done)
}

// find asks for the vCard of nick and uploads its PHOTO; "" when it has
// none.
func (a *avatars) find(ctx context.Context, nick string) (string, error) {
	occ, err := a.room.WithResource(nick)
	if err != nil {
		return "", err
	}
	res, err := a.comp.Request(ctx, &xmpp.IQ{
		Header:  xmpp.Header{From: a.from, To: occ, Type: xmpp.IQGet},
		Payload: xmpp.NewElement(nsVCard, "vCard"),
	})
	if err != nil {
		return "", fmt.Errorf("community: vCard of %s: %w", nick, err)
	}
	if res.Type != xmpp.IQResult {
		if res.Error != nil && (res.Error.Condition == xmpp.CondItemNotFound || res.Error.Condition == xmpp.CondServiceUnavailable) {
			return "", nil // no vCard
		}
		return "", fmt.Errorf("community: vCard of %s refused: %v", nick, res.Error)
	}
	f, err := vcardPhoto(res.Payload)
	if err != nil || f == nil {
		return "", err
	}
	sum := sha1.Sum(f.Data)
	hash := hex.EncodeToString(sum[:])
	a.mu.Lock()
	u, ok := a.byHash[hash]
	a.mu.Unlock()
	if ok {
		return u, nil
	}
	f.Name = "avatar-" + hash + photoExt(f.MIME)
	u, err = a.up.Upload(ctx, f)
	if err != nil {
		return "", fmt.Errorf("community: uploading the picture of %s: %w", nick, err)
	}
	a.mu.Lock()
	a.byHash[hash] = u
	a.mu.Unlock()
	return u, nil
}

// vcardPhoto returns the picture of a vcard-temp element, nil if it has
// none.
func vcardPhoto(v *xmpp.Element) (*attach.File, error) {
	if v == nil || v.Name.Space != nsVCard {
		return nil, nil
	}
	photo := v.Child(nsVCard, "PHOTO")
	if photo == nil {
		return nil, nil
	}
	b64 := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, photo.ChildText(nsVCard, "BINVAL"))
	if b64 == "" {
		return nil, nil
	}
	if base64.StdEncoding.DecodedLen(len(b64)) > avatarMaxSize+3 {
		return nil, fmt.Errorf("community: a vCard picture larger than %d bytes", avatarMaxSize)
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("community: a vCard picture is not base64: %w", err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	mime := strings.TrimSpace(photo.ChildText(nsVCard, "TYPE"))
	if !strings.HasPrefix(mime, "image/") {
		mime = http.DetectContentType(data)
	}
	if !strings.HasPrefix(mime, "image/") {
		return nil, fmt.Errorf("community: a vCard picture is not an image (%s)", mime)
	}
	return &attach.File{MIME: mime, Data: data}, nil
}

// photoExt names the file of a picture of type mime.
func photoExt(mime string) string {
	switch mime {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ""
}
