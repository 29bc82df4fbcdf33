package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/attach"
)

// Files. Outgoing: the files of the XMPP user's XEP-0066 links are fetched
// (kit/attach) and uploaded with the message (multipart/form-data, the
// JSON body in payload_json and the files in files[n]), so that Discord
// users see them inline; a file larger than Discord takes bounces with
// ErrFileTooLarge, nothing of the message sent. A link whose file cannot
// be fetched for another lasting reason is sent as a link.
//
// Incoming: Discord's attachments are passed with their CDN link, name,
// size and type (MessageEvent.Attachments, XEP-0066 on the XMPP side).
// Those links are signed and expire about a day later, so the transport is
// a bridge.FileSource: the bridge copies each file to the host server's
// upload service (XEP-0363) and delivers that link instead; the CDN needs
// no credentials, so the fetcher is the transport's, for every session.

// FileFetcher implements bridge.FileSource: Discord's CDN links are signed
// in their query and need no token.
func (t *Transport) FileFetcher() *attach.Fetcher {
	return &attach.Fetcher{Client: t.files}
}

var _ bridge.FileSource = (*Transport)(nil)

// maxUpload is the largest upload Discord takes in one message for a
// server without boosts, and in DMs (10 MiB since 2024).
const maxUpload = 10 << 20

// outFile is a file to upload.
type outFile struct {
	name, mime string
	data       []byte
}

// fetchFiles fetches the files of a message's links. links are the ones
// that could not be fetched and go in the text instead.
func (s *Session) fetchFiles(ctx context.Context, atts []bridge.Attachment) (files []outFile, links []string, err error) {
	if len(atts) == 0 {
		return nil, nil, nil
	}
	f := attach.Fetcher{Client: s.t.files, MaxSize: maxUpload}
	total := 0
	for _, a := range atts {
		file, err := f.Fetch(ctx, attach.Source{URL: a.URL, Name: a.Name, MIME: a.MIME, Size: a.Size})
		switch {
		case errors.Is(err, attach.ErrTooLarge):
			return nil, nil, tooLarge(a.Name, a.URL, a.Size)
		case errors.Is(err, attach.ErrTemporary):
			return nil, nil, fmt.Errorf("discord: fetch %s: %w: %w", a.Name, bridge.ErrTemporary, err)
		case err != nil:
			s.log.Info("a file could not be fetched; it is sent as a link", "err", err)
			links = append(links, a.URL)
			continue
		}
		total += len(file.Data)
		if total > maxUpload {
			return nil, nil, tooLarge(file.Name, a.URL, int64(total))
		}
		files = append(files, outFile{name: file.Name, mime: file.MIME, data: file.Data})
	}
	return files, links, nil
}

// tooLarge is the bounce of a file Discord would refuse.
func tooLarge(name, url string, size int64) error {
	if name == "" {
		name = url
	}
	what := "larger than"
	if size > 0 {
		what = fmt.Sprintf("%.1f MiB, more than", float64(size)/(1<<20))
	}
	return fmt.Errorf("%w: %q is %s the %d MiB Discord takes in one message; not sent: %w",
		ErrFileTooLarge, name, what, maxUpload>>20, bridge.ErrInvalidInput)
}

// withoutLinks removes from a text the lines that are only one of the
// uploaded files' links (XMPP clients repeat an XEP-0066 link in the body).
func withoutLinks(text string, atts []bridge.Attachment, kept []string) string {
	lines := strings.Split(text, "\n")
	out := lines[:0]
	for _, l := range lines {
		drop := false
		for _, a := range atts {
			if strings.TrimSpace(l) == a.URL && !containsString(kept, a.URL) {
				drop = true
			}
		}
		if !drop {
			out = append(out, l)
		}
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// postFiles creates a message with files and returns its ID.
func postFiles(ctx context.Context, c *conn, channel string, body outgoing, files []outFile) (string, error) {
	if body.AllowedMentions.Parse == nil {
		body.AllowedMentions = defaultMentions()
	}
	dfs := make([]*discordgo.File, 0, len(files))
	for _, f := range files {
		dfs = append(dfs, &discordgo.File{Name: f.name, ContentType: f.mime, Reader: bytes.NewReader(f.data)})
	}
	ctype, payload, err := discordgo.MultipartBodyWithJSON(body, dfs)
	if err != nil {
		return "", fmt.Errorf("discord: upload body: %w", err)
	}
	if err := c.limit.Wait(ctx); err != nil {
		return "", err
	}
	ep := discordgo.EndpointChannelMessages(channel)
	resp, err := c.dg.RequestRaw("POST", ep, ctype, payload, ep, 0, discordgo.WithContext(ctx))
	if err != nil {
		var re *discordgo.RESTError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusRequestEntityTooLarge {
			return "", fmt.Errorf("%w: Discord refused the upload as too large; not sent: %w", ErrFileTooLarge, bridge.ErrInvalidInput)
		}
		return "", classify("upload", err)
	}
	var m struct {
		ID string `json:"id"`
	}
	if err := discordgo.Unmarshal(resp, &m); err != nil || m.ID == "" {
		return "", fmt.Errorf("discord: upload answer: %w: %v", bridge.ErrTemporary, err)
	}
	return m.ID, nil
}
