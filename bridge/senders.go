package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// senderCards keeps what the networks say about the senders of messages
// with the messages themselves (MessageEvent.SenderName and
// SenderAvatarURL: a Discord webhook, a bot), per XMPP user and remote
// person, so that the person's vCard (XEP-0054, whose PHOTO is the
// XEP-0153 avatar clients show) has that name and picture when the network
// gives no profile of its own (no Profiler, or it does not know the
// person), or a profile without a picture.
//
// Pictures are fetched when a vCard asks for them, not when the message
// arrives: with a bounded client (avatarTimeout, avatarMaxBytes, images
// only), cached by URL (avatarTTL; failures for avatarRetryAfter). Safe
// for concurrent use.
type senderCards struct {
	client *http.Client

	mu    sync.Mutex
	cards map[senderKey]senderCard // at most maxSenderCards
	// images are the fetched pictures by URL, at most maxCachedAvatars;
	// both maps are forgotten all at once when full.
	images map[string]avatarImage
}

// senderKey names a remote person as one XMPP user (bare JID) sees them.
type senderKey struct {
	user string
	uid  UserID
}

// senderCard is what the last message of a person said about them.
type senderCard struct {
	name, avatarURL string
}

// avatarImage is a fetched picture, or why it could not be fetched.
type avatarImage struct {
	data []byte
	typ  string
	err  error
	at   time.Time
}

// Bounds of senderCards.
const (
	maxSenderCards   = 4096
	maxCachedAvatars = 256
	// avatarMaxBytes bounds a picture: base64 in a vCard, it stays well
	// under the stanza size limits of host servers (256 KiB for c2s in
	// Prosody).
	avatarMaxBytes   = 128 << 10
	avatarTimeout    = 10 * time.Second
	avatarTTL        = time.Hour
	avatarRetryAfter = 5 * time.Minute
)

// newSenderCards returns an empty senderCards fetching with client, or,
// if nil, with defaultAvatarClient.
func newSenderCards(client *http.Client) *senderCards {
	if client == nil {
		client = defaultAvatarClient()
	}
	return &senderCards{client: client, cards: map[senderKey]senderCard{}, images: map[string]avatarImage{}}
}

// defaultAvatarClient fetches pictures from public addresses only: the
// URL comes from the network, and must not make the gateway reach its
// own host or network (loopback, private, link-local addresses). It uses
// no proxy, for the same reason.
func defaultAvatarClient() *http.Client {
	d := &net.Dialer{Timeout: avatarTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		ip = ip.Unmap()
		if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			return fmt.Errorf("bridge: avatar: address %s is not public", ip)
		}
		return nil
	}}
	return &http.Client{
		Timeout:   avatarTimeout,
		Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: avatarTimeout, MaxIdleConns: 4, IdleConnTimeout: time.Minute},
	}
}

// noting wraps the sinks of accounts' sessions so that a message's sender
// card is noted before the message is delivered. repictured is told of a
// sender whose messages carry another picture than before.
func (sc *senderCards) noting(sink func(*account) Sink, repictured func(*account, UserID)) func(*account) Sink {
	return func(acc *account) Sink {
		return &cardNotingSink{sc: sc, acc: acc, repictured: repictured, next: sink(acc)}
	}
}

// cardNotingSink notes the sender cards of a session's messages.
type cardNotingSink struct {
	sc         *senderCards
	acc        *account
	repictured func(*account, UserID)
	next       Sink
}

// Emit implements Sink.
func (s *cardNotingSink) Emit(ctx context.Context, ev Event) error {
	if m, ok := ev.(MessageEvent); ok && !m.FromSelf && (m.SenderName != "" || m.SenderAvatarURL != "") {
		if s.sc.note(s.acc.user, m.Sender, senderCard{name: m.SenderName, avatarURL: m.SenderAvatarURL}) && s.repictured != nil {
			s.repictured(s.acc, m.Sender)
		}
	}
	return s.next.Emit(ctx, ev)
}

// note remembers what a message said about its sender, and reports
// whether it replaced another picture URL.
func (sc *senderCards) note(user jid.JID, uid UserID, c senderCard) bool {
	k := senderKey{user.Bare().String(), uid}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	old, had := sc.cards[k]
	if !had && len(sc.cards) >= maxSenderCards {
		clear(sc.cards)
	}
	sc.cards[k] = c
	return had && old.avatarURL != c.avatarURL
}

// card returns what the last message of uid to user said about them.
func (sc *senderCards) card(user jid.JID, uid UserID) (senderCard, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	c, ok := sc.cards[senderKey{user.Bare().String(), uid}]
	return c, ok
}

// avatar returns the picture at url and its MIME type, from the cache or
// fetched.
func (sc *senderCards) avatar(ctx context.Context, url string) ([]byte, string, error) {
	now := time.Now()
	sc.mu.Lock()
	img, ok := sc.images[url]
	sc.mu.Unlock()
	if ok && (img.err == nil && now.Sub(img.at) < avatarTTL || img.err != nil && now.Sub(img.at) < avatarRetryAfter) {
		return img.data, img.typ, img.err
	}
	img = avatarImage{at: now}
	img.data, img.typ, img.err = sc.fetch(ctx, url)
	if ctx.Err() != nil && img.err != nil {
		return nil, "", img.err // our deadline, not the picture's fault
	}
	sc.mu.Lock()
	if len(sc.images) >= maxCachedAvatars {
		clear(sc.images)
	}
	sc.images[url] = img
	sc.mu.Unlock()
	return img.data, img.typ, img.err
}

// errNotAnImage is the cause of a refused picture.
var errNotAnImage = errors.New("bridge: avatar: not an image")

// fetch downloads a picture: http(s) only, 200 only, an image type, at
// most avatarMaxBytes.
func (sc *senderCards) fetch(ctx context.Context, url string) ([]byte, string, error) {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return nil, "", fmt.Errorf("%w: %q is not an http(s) URL", errNotAnImage, url)
	}
	ctx, cancel := context.WithTimeout(ctx, avatarTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("bridge: avatar: %w", err)
	}
	req.Header.Set("Accept", "image/*")
	resp, err := sc.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("bridge: avatar: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("bridge: avatar: HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > avatarMaxBytes {
		return nil, "", fmt.Errorf("bridge: avatar: %d bytes, more than %d", resp.ContentLength, avatarMaxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, avatarMaxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("bridge: avatar: %w", err)
	}
	if len(data) > avatarMaxBytes {
		return nil, "", fmt.Errorf("bridge: avatar: more than %d bytes", avatarMaxBytes)
	}
	typ, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasPrefix(typ, "image/") {
		typ = http.DetectContentType(data)
	}
	if !strings.HasPrefix(typ, "image/") {
		return nil, "", fmt.Errorf("%w (%s)", errNotAnImage, typ)
	}
	return data, typ, nil
}

// personVCard returns the vCard of remote person uid as seen by acc's
// user: the network's profile (Profiler), with the picture that the
// person's messages named when the profile has none; when the network
// has no profile of them, the name and picture of their messages alone.
// The photo is the picture the vCard shows, for XEP-0153 (unknown when a
// picture the messages named could not be fetched): the caller answers,
// then gives it to learnPhoto. It does network I/O: never call it on the
// dispatcher.
func (ac *accounts) personVCard(ctx context.Context, acc *account, uid UserID) (*xmpp.Element, photo, *xmpp.StanzaError) {
	card, carded := ac.senders.card(acc.user, uid)
	var p Profile
	sess, state, _ := acc.snapshot()
	pr, ok := sess.(Profiler)
	switch {
	case state == LoggedIn && ok:
		var err error
		if p, err = pr.Profile(ctx, uid); err != nil && !(carded && errors.Is(err, ErrNotFound)) {
			return nil, photo{}, sendError(err)
		}
	case !carded:
		return nil, photo{}, xmpp.NewStanzaError(xmpp.CondServiceUnavailable, "No profile available now.")
	}
	if p.Name == "" {
		p.Name = card.name
	}
	pictured := true // the vCard shows the picture there is, or that there is none
	if len(p.Avatar) == 0 && card.avatarURL != "" {
		if data, typ, err := ac.senders.avatar(ctx, card.avatarURL); err == nil {
			p.Avatar, p.AvatarType = data, typ
		} else {
			pictured = false
			acc.log.Debug("sender's picture not fetched", "sender", uid, "err", err)
		}
	}
	var shown photo
	if pictured {
		shown = photoOf(p.Avatar)
	}
	return vcardElement(p), shown, nil
}

// learnPhoto records the picture a person's vCard showed (avatars.go)
// and, when it is news, has their presence sent again with its hash. An
// unknown photo is left out.
func (ac *accounts) learnPhoto(ctx context.Context, acc *account, uid UserID, p photo) {
	changed, err := ac.photos.learn(acc.user, uid, p)
	if err != nil {
		acc.log.Warn("storing an avatar hash", "err", err)
	}
	if changed && ac.photoChanged != nil {
		ac.photoChanged(ctx, acc, uid)
	}
}
