package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/kit/attach"
)

// FileSource is implemented by a Session, or by a Transport when its
// files need no session's credentials, whose incoming attachments the
// bridge re-hosts on the host server's upload service (XEP-0363) before
// delivering them: links that expire (Discord's CDN) or that need the
// network's login (Slack). FileFetcher returns how to download them:
// the HTTP client, the credentials (Authorize) and a size limit (the
// bridge lowers it to its own and the service's). A transport that does
// not implement it has its links delivered as they are.
type FileSource interface {
	FileFetcher() *attach.Fetcher
}

// Bounds of re-hosting.
const (
	// rehostTimeout bounds the downloads and uploads of one message's
	// files. Past it the message goes on with the network's links.
	rehostTimeout = 2 * time.Minute
	// concurrentRehosts bounds the files of one gateway in flight, and
	// so the memory they take (each at most UploadConfig.MaxSize).
	concurrentRehosts = 4
	// rehostedKeep and rehostedMax bound the memory of files already
	// copied, by their network URL: the same file seen again (a group
	// message reaching several accounts, a redelivery) is not copied
	// twice.
	rehostedKeep = time.Hour
	rehostedMax  = 1024
)

// rehoster re-hosts the attachments of incoming messages. It runs inside
// Emit, before the message is delivered: the transport emits a chat's
// events in order and waits for Emit, so a message with a file is never
// overtaken by the next one of its chat, and it is acknowledged to the
// network only once delivered with its new link. Every failure (no
// service, a refusal, a file too large, a download that fails, a timeout)
// keeps the network's link and adds a note saying so: the message is
// never dropped nor held back beyond rehostTimeout, and nothing is
// retried. When ctx ends (the gateway stops) the caller returns its error
// instead of delivering: the network redelivers the message later.
type rehoster struct {
	up      *httpUploader
	tr      Transport
	maxSize int64
	slots   chan struct{}
	timeout time.Duration
	metrics *Metrics

	mu   sync.Mutex
	done map[string]rehosted // by network URL
	now  func() time.Time
}

// rehosted is a file already copied.
type rehosted struct {
	hosted attach.Hosted
	at     time.Time
}

// newRehoster returns the rehoster of a gateway, or nil when re-hosting
// is off.
func newRehoster(up *httpUploader, tr Transport, maxSize int64, m *Metrics) *rehoster {
	if up == nil {
		return nil
	}
	if maxSize <= 0 {
		maxSize = DefaultUploadMaxSize
	}
	return &rehoster{
		up: up, tr: tr, maxSize: maxSize, slots: make(chan struct{}, concurrentRehosts), timeout: rehostTimeout, metrics: m,
		done: map[string]rehosted{}, now: time.Now,
	}
}

// fetcher returns the fetcher for an account's files: its session's, else
// the transport's; nil when neither is a FileSource.
func (r *rehoster) fetcher(sess Session) *attach.Fetcher {
	if fs, ok := sess.(FileSource); ok {
		return fs.FileFetcher()
	}
	if fs, ok := r.tr.(FileSource); ok {
		return fs.FileFetcher()
	}
	return nil
}

// rehost replaces the attachments' URLs of ev with re-hosted ones, or
// notes in ev.Text why one keeps its network link. ev is changed in
// place; its Attachments slice is a copy.
func (r *rehoster) rehost(ctx context.Context, sess Session, ev *MessageEvent, log interface{ Info(string, ...any) }) {
	if r == nil || len(ev.Attachments) == 0 {
		return
	}
	base := r.fetcher(sess)
	if base == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	atts := make([]Attachment, len(ev.Attachments))
	copy(atts, ev.Attachments)
	ev.Attachments = atts
	var notes []string
	for i := range atts {
		hosted, err := r.one(ctx, base, atts[i])
		if err != nil {
			r.metrics.countEvent("file_not_rehosted")
			log.Info("a file keeps its network link", "file", atts[i].Name, "err", err)
			notes = append(notes, notRehostedNote(atts[i], err))
			continue
		}
		r.metrics.countEvent("file_rehosted")
		atts[i] = Attachment{URL: hosted.URL, Name: hosted.Name, MIME: hosted.MIME, Size: hosted.Size}
	}
	if len(notes) > 0 {
		if ev.Text != "" {
			ev.Text += "\n"
		}
		ev.Text += strings.Join(notes, "\n")
	}
}

// one re-hosts one file, or returns its copy made
// within rehostedKeep.
func (r *rehoster) one(ctx context.Context, base *attach.Fetcher, a Attachment) (attach.Hosted, error) {
	key := cmp.Or(a.FetchURL, a.URL)
	if h, ok := r.copied(key); ok {
		return h, nil
	}
	h, err := r.copy(ctx, base, a)
	if err == nil {
		r.remember(key, h)
	}
	return h, err
}

// copied returns the copy of a file made within rehostedKeep.
func (r *rehoster) copied(key string) (attach.Hosted, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.done[key]
	if !ok || r.now().Sub(d.at) > rehostedKeep {
		return attach.Hosted{}, false
	}
	return d.hosted, true
}

// remember records a copy, making room by dropping expired ones, or any
// one when none expired.
func (r *rehoster) remember(key string, h attach.Hosted) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.done) >= rehostedMax {
		for k, d := range r.done {
			if now.Sub(d.at) > rehostedKeep {
				delete(r.done, k)
			}
		}
		for k := range r.done {
			if len(r.done) < rehostedMax {
				break
			}
			delete(r.done, k)
		}
	}
	r.done[key] = rehosted{hosted: h, at: now}
}

// copy downloads and uploads one file within the bounds.
func (r *rehoster) copy(ctx context.Context, base *attach.Fetcher, a Attachment) (attach.Hosted, error) {
	// The service first: without one, nothing is downloaded.
	svc, err := r.up.service(ctx)
	if err != nil {
		return attach.Hosted{}, err
	}
	f := *base
	f.MaxSize = min(limitOr(f.MaxSize, attach.DefaultMaxSize), r.maxSize, limitOr(svc.maxSize, r.maxSize))
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return attach.Hosted{}, fmt.Errorf("bridge: waiting to re-host: %w", ctx.Err())
	}
	defer func() { <-r.slots }()
	src := attach.Source{URL: a.URL, Name: a.Name, MIME: a.MIME, Size: a.Size}
	if a.FetchURL != "" {
		src.URL = a.FetchURL
	}
	return attach.Rehost(ctx, &f, r.up, src)
}

// limitOr returns n, or def when n is not positive.
func limitOr(n, def int64) int64 {
	if n <= 0 {
		return def
	}
	return n
}

// notRehostedNote is the line added to a message whose file keeps its
// network link: which file, and why, in words fit for the user.
func notRehostedNote(a Attachment, err error) string {
	name := a.Name
	if name == "" {
		name = "a file"
	}
	var why string
	switch {
	case errors.Is(err, attach.ErrTooLarge):
		why = "it is too large to copy"
	case errors.Is(err, ErrNoUploadService):
		why = "the server has no upload service for the gateway"
	case errors.Is(err, ErrUploadRefused):
		why = "the upload service refused it"
	case errors.Is(err, attach.ErrNotFound), errors.Is(err, attach.ErrForbidden), errors.Is(err, attach.ErrUnauthorized):
		why = "the network did not let the gateway download it"
	case errors.Is(err, context.DeadlineExceeded):
		why = "it took too long"
	default:
		why = "re-hosting failed"
	}
	return fmt.Sprintf("[%s was not copied to the server (%s); the link below is the network's: it may expire or need a login there]", name, why)
}
