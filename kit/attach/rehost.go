package attach

import (
	"context"
	"fmt"
)

// Uploader stores a file where XMPP users can fetch it and returns the URL
// to give them. The XMPP side implements it with XEP-0363 upload slots:
// request a slot for f's name, size and MIME type, PUT f.Data, return the
// GET URL. Errors should be an *Error with Op "upload" when they come from
// HTTP.
type Uploader interface {
	Upload(ctx context.Context, f *File) (url string, err error)
}

// Rehost fetches src with fetcher and stores it with up; it returns the
// new URL and the file's name, type and size for the message that carries
// it.
func Rehost(ctx context.Context, fetcher *Fetcher, up Uploader, src Source) (Hosted, error) {
	f, err := fetcher.Fetch(ctx, src)
	if err != nil {
		return Hosted{}, err
	}
	u, err := up.Upload(ctx, f)
	if err != nil {
		return Hosted{}, fmt.Errorf("attach: rehost %s: %w", f.Name, err)
	}
	return Hosted{URL: u, Name: f.Name, MIME: f.MIME, Size: int64(len(f.Data))}, nil
}

// Hosted is a re-hosted file.
type Hosted struct {
	URL  string
	Name string
	MIME string
	Size int64
}
