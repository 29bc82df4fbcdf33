package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/kit/attach"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// UploadConfig says where the gateway re-hosts the files of incoming
// messages (XEP-0363 HTTP File Upload on the host server), so that XMPP
// users can open them after the network's links expired or without the
// network's login. The zero value discovers the service.
type UploadConfig struct {
	// Service is the JID of the upload service ("upload.example.org").
	// Empty: discovered among the disco#items of the host domain (the
	// component domain without its first label). "none" turns re-hosting
	// off: files keep the network's links.
	Service string
	// MaxSize bounds one file, in bytes, below what the service accepts;
	// 0 means DefaultUploadMaxSize. The file is held in memory while it
	// is re-hosted.
	MaxSize int64
}

// UploadServiceNone is the UploadConfig.Service that turns re-hosting off.
const UploadServiceNone = "none"

// DefaultUploadMaxSize is the default UploadConfig.MaxSize.
const DefaultUploadMaxSize = 32 << 20

// Validate checks the configuration.
func (c UploadConfig) Validate() error {
	if c.MaxSize < 0 {
		return fmt.Errorf("bridge: upload max size %d is negative", c.MaxSize)
	}
	if c.Service == "" || c.Service == UploadServiceNone {
		return nil
	}
	j, err := jid.Parse(c.Service)
	if err != nil || j.Local() != "" || j.Resource() != "" {
		return fmt.Errorf("bridge: upload service %q is not a domain JID", c.Service)
	}
	return nil
}

// Bounds of the re-hosting work.
const (
	// uploadDiscoveryRetry is how long a failed discovery (no service
	// found, or no answer) is remembered before the next message tries
	// again.
	uploadDiscoveryRetry = 10 * time.Minute
	// uploadDiscoveryItems bounds how many items of the host domain are
	// asked for their disco#info.
	uploadDiscoveryItems = 32
)

// iqRequester sends an iq and waits for its answer (xmpp.Component).
type iqRequester interface {
	Request(ctx context.Context, iq *xmpp.IQ) (*xmpp.IQ, error)
}

// uploadService is a found upload service.
type uploadService struct {
	addr    jid.JID
	maxSize int64 // from its XEP-0128 form; 0 if it did not say
}

// httpUploader implements attach.Uploader with XEP-0363 slots from the
// host server's upload service, requested from the component's domain.
// It finds the service once (configured or discovered) and remembers it;
// a failed discovery is remembered for uploadDiscoveryRetry. It is safe
// for concurrent use; discoveries are serialized.
type httpUploader struct {
	comp       iqRequester
	configured jid.JID // zero: discover on hostDomain
	hostDomain jid.JID
	client     *http.Client

	mu       sync.Mutex
	found    *uploadService // nil until found
	failedAt time.Time      // last failed discovery
	failure  error
	now      func() time.Time
}

// newHTTPUploader returns the uploader for a component at domain, or nil
// when cfg turns re-hosting off.
func newHTTPUploader(cfg UploadConfig, comp iqRequester, domain jid.JID) *httpUploader {
	if cfg.Service == UploadServiceNone {
		return nil
	}
	u := &httpUploader{comp: comp, client: &http.Client{Timeout: 5 * time.Minute}, now: time.Now}
	if cfg.Service != "" {
		u.configured, _ = jid.Parse(cfg.Service)
	} else if _, parent, ok := strings.Cut(domain.Domain(), "."); ok && parent != "" {
		u.hostDomain, _ = jid.Parse(parent)
	}
	return u
}

// service returns the upload service, finding it if need be.
func (u *httpUploader) service(ctx context.Context) (uploadService, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.found != nil {
		return *u.found, nil
	}
	if u.failure != nil && u.now().Sub(u.failedAt) < uploadDiscoveryRetry {
		return uploadService{}, u.failure
	}
	svc, err := u.discover(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return uploadService{}, ctx.Err() // not the service's fault
		}
		u.failure, u.failedAt = err, u.now()
		return uploadService{}, err
	}
	u.found, u.failure = &svc, nil
	return svc, nil
}

// forget drops the found service, after it answered as one that serves no
// uploads (the host server's configuration changed).
func (u *httpUploader) forget(svc uploadService) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.found != nil && u.found.addr == svc.addr {
		u.found = nil
	}
}

// noteMaxSize remembers the limit a refusal told.
func (u *httpUploader) noteMaxSize(svc uploadService, maxSize int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.found != nil && u.found.addr == svc.addr && maxSize > 0 {
		u.found.maxSize = maxSize
	}
}

// discover finds the service: the configured one (its disco#info only
// adds the size limit, and may fail), else the first item of the host
// domain whose disco#info has the identity store/file and the feature
// NSHTTPUpload.
func (u *httpUploader) discover(ctx context.Context) (uploadService, error) {
	if !u.configured.IsZero() {
		svc := uploadService{addr: u.configured}
		if info, err := u.info(ctx, u.configured); err == nil {
			svc.maxSize = uploadMaxSize(info)
		}
		return svc, nil
	}
	if u.hostDomain.IsZero() {
		return uploadService{}, fmt.Errorf("%w: the component domain has no parent domain to look on; set upload_service", ErrNoUploadService)
	}
	res, err := u.comp.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: u.hostDomain, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSItems, "query")})
	if err != nil {
		return uploadService{}, fmt.Errorf("%w: disco#items of %s: %w", ErrNoUploadService, u.hostDomain, err)
	}
	if res.Type != xmpp.IQResult {
		return uploadService{}, fmt.Errorf("%w: disco#items of %s: %v", ErrNoUploadService, u.hostDomain, res.Error)
	}
	items, err := disco.ParseItems(res.Payload)
	if err != nil {
		return uploadService{}, fmt.Errorf("%w: disco#items of %s: %w", ErrNoUploadService, u.hostDomain, err)
	}
	for i, it := range items.Items {
		if i == uploadDiscoveryItems {
			break
		}
		if it.Node != "" {
			continue
		}
		info, err := u.info(ctx, it.JID)
		if err != nil {
			if ctx.Err() != nil {
				return uploadService{}, ctx.Err()
			}
			continue
		}
		if isUploadService(info) {
			return uploadService{addr: it.JID, maxSize: uploadMaxSize(info)}, nil
		}
	}
	return uploadService{}, fmt.Errorf("%w: none among the %d items of %s", ErrNoUploadService, len(items.Items), u.hostDomain)
}

// info asks addr for its disco#info.
func (u *httpUploader) info(ctx context.Context, addr jid.JID) (*disco.Info, error) {
	res, err := u.comp.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: addr, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")})
	if err != nil {
		return nil, err
	}
	if res.Type != xmpp.IQResult {
		return nil, res.Error
	}
	return disco.ParseInfo(res.Payload)
}

// isUploadService reports whether a disco#info is an XEP-0363 service's.
func isUploadService(info *disco.Info) bool {
	return info.HasFeature(NSHTTPUpload) && slices.ContainsFunc(info.Identities, func(id disco.Identity) bool {
		return id.Category == "store" && id.Type == "file"
	})
}

// uploadMaxSize reads max-file-size from the service's XEP-0128 form; 0
// if absent or not a positive number.
func uploadMaxSize(info *disco.Info) int64 {
	for _, f := range info.Forms {
		if f.FormType() != NSHTTPUpload {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(f.Value("max-file-size")), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// Upload implements attach.Uploader: it asks the service for a slot for
// f, PUTs f.Data with the slot's headers and returns the GET URL. A file
// larger than the service's known limit is refused without asking.
func (u *httpUploader) Upload(ctx context.Context, f *attach.File) (string, error) {
	svc, err := u.service(ctx)
	if err != nil {
		return "", err
	}
	if svc.maxSize > 0 && int64(len(f.Data)) > svc.maxSize {
		return "", fmt.Errorf("%w: %d bytes, the upload service takes at most %d", attach.ErrTooLarge, len(f.Data), svc.maxSize)
	}
	res, err := u.comp.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: svc.addr, Type: xmpp.IQGet}, Payload: slotRequest(f)})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("bridge: upload slot from %s: %w: %w", svc.addr, attach.ErrTemporary, err)
	}
	if res.Type != xmpp.IQResult {
		maxSize, err := slotRefusal(res.Error)
		switch {
		case errors.Is(err, ErrNoUploadService):
			u.forget(svc)
		case maxSize > 0:
			u.noteMaxSize(svc, maxSize)
		}
		return "", fmt.Errorf("bridge: upload slot from %s: %w", svc.addr, err)
	}
	slot, err := parseSlot(res.Payload)
	if err != nil {
		return "", fmt.Errorf("bridge: upload slot from %s: %w", svc.addr, err)
	}
	if err := u.put(ctx, slot, f); err != nil {
		return "", err
	}
	return slot.get, nil
}

// put uploads f to the slot (XEP-0363 §6): the slot's headers, the
// declared size and type; 200 or 201 is success.
func (u *httpUploader) put(ctx context.Context, slot uploadSlot, f *attach.File) error {
	fail := func(status int, err error) error {
		return &attach.Error{Op: "upload", URL: redactURL(slot.put), Status: status, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, slot.put, bytes.NewReader(f.Data))
	if err != nil {
		return fail(0, err)
	}
	req.Header = slot.header.Clone()
	req.Header.Set("Content-Type", f.MIME)
	req.ContentLength = int64(len(f.Data))
	resp, err := u.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail(0, ctx.Err())
		}
		return fail(0, fmt.Errorf("%w: %w", attach.ErrTemporary, unwrapURLError(err)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		return nil
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return fail(resp.StatusCode, attach.ErrTooLarge)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fail(resp.StatusCode, attach.ErrTemporary)
	}
	return fail(resp.StatusCode, ErrUploadRefused)
}

// unwrapURLError drops the URL (which may carry a token) from the errors
// of net/http.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
