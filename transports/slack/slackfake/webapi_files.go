package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// maxUpload caps the bytes accepted at an upload URL.
const maxUpload = 64 << 20

func apiFilesGetUploadURL(s *Server, c *call) (any, string) {
	name := c.str("filename")
	length, err := strconv.Atoi(c.str("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, "invalid_arguments"
	}
	f := &file{
		id: s.ids.id("F"), teamID: c.tok.teamID, userID: c.tok.userID, name: name,
		altTxt: c.str("alt_txt"), length: length, created: s.clock.unix(),
	}
	s.files[f.id] = f
	return struct {
		UploadURL string `json:"upload_url"`
		FileID    string `json:"file_id"`
	}{s.base + "/upload/v1/" + f.id, f.id}, ""
}

// serveUpload stores the bytes posted to an upload URL: a multipart form's
// first file part, or the raw body.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := path.Base(r.URL.Path)
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	data, err := readUpload(w, r)
	if err != nil {
		http.Error(w, "bad upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := s.files[id]
	ok := f != nil && !f.completed
	if ok {
		f.data, f.uploaded = data, true
		s.notifyLocked()
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "OK - %d", len(data))
}

func readUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, maxUpload)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return io.ReadAll(body)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("no file part: %w", err)
		}
		if part.FileName() != "" {
			return io.ReadAll(part)
		}
	}
}

func apiFilesCompleteUpload(s *Server, c *call) (any, string) {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if json.Unmarshal([]byte(c.str("files")), &list) != nil || len(list) == 0 {
		return nil, "invalid_arguments"
	}
	var targets []*conv
	chans := c.str("channels")
	if id := c.str("channel_id"); id != "" {
		chans = id
	}
	for _, id := range strings.Split(chans, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		cv := s.convVisibleLocked(c, id)
		if cv == nil {
			return nil, "channel_not_found"
		}
		if code := checkPostable(c, cv); code != "" {
			return nil, code
		}
		targets = append(targets, cv)
	}
	var threadTS string
	if ts := c.str("thread_ts"); ts != "" {
		if len(targets) != 1 || targets[0].threadParent(ts) == nil {
			return nil, "invalid_thread_ts"
		}
		threadTS = targets[0].threadParent(ts).ts
	}
	var files []*file
	for _, it := range list {
		f := s.files[it.ID]
		if f == nil || f.teamID != c.tok.teamID || !f.uploaded || f.completed {
			return nil, "file_not_found"
		}
		f.title = it.Title
		if f.title == "" {
			f.title = f.name
		}
		files = append(files, f)
	}
	type summary struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	out := make([]summary, 0, len(files))
	ids := make([]string, 0, len(files))
	for _, f := range files {
		f.completed = true
		f.mimetype = mime.TypeByExtension(path.Ext(f.name))
		if f.mimetype == "" {
			f.mimetype = http.DetectContentType(f.data)
		}
		f.mimetype, _, _ = strings.Cut(f.mimetype, ";")
		f.filetype = strings.TrimPrefix(path.Ext(f.name), ".")
		if f.filetype == "" {
			f.filetype = "binary"
		}
		for _, cv := range targets {
			f.channels = append(f.channels, cv.id)
		}
		ids = append(ids, f.id)
		out = append(out, summary{f.id, f.title})
	}
	for _, cv := range targets {
		m := &message{user: c.tok.userID, subtype: "file_share", text: c.params.Get("initial_comment"), files: ids, threadTS: threadTS}
		if blocks, _, ok := jsonArrayParam(c, "blocks"); ok {
			m.blocks = blocks
		}
		if c.tok.kind == kindBot {
			m.botID, m.appID = c.tok.botID, s.appID
		}
		s.postLocked(cv, m)
	}
	return struct {
		Files []summary `json:"files"`
	}{out}, ""
}

// serveFile serves url_private: the bytes to any valid token of the file's
// team, and a redirect to the sign-in page, as Slack does, to anyone else.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	// /files-pri/TEAM-FILE/name
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/files-pri/"), "/", 2)
	teamID, fileID, _ := strings.Cut(parts[0], "-")
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	f := s.files[fileID]
	tok, code := s.authLocked(bearer, anyToken)
	ok := f != nil && f.completed && f.teamID == teamID && code == "" && tok.teamID == teamID
	var data []byte
	var mt string
	if ok {
		data, mt = f.data, f.mimetype
	}
	s.mu.Unlock()
	if !ok {
		http.Redirect(w, r, s.base+"/signin?redir="+r.URL.Path, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func (s *Server) serveSignin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!DOCTYPE html><html><body>Sign in to your workspace</body></html>")
}

func (s *Server) avatarURL(id string, size int) string {
	return fmt.Sprintf("%s/avatars/%s/%d.png", s.base, id, size)
}

// serveAvatar serves /avatars/ID/SIZE.png: a square PNG in the ID's color.
func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/avatars/"), "/")
	if len(parts) != 2 || !strings.HasSuffix(parts[1], ".png") {
		http.NotFound(w, r)
		return
	}
	size, err := strconv.Atoi(strings.TrimSuffix(parts[1], ".png"))
	if err != nil || size < 1 || size > 1024 {
		http.NotFound(w, r)
		return
	}
	key := parts[0] + "/" + strconv.Itoa(size)
	s.mu.Lock()
	data, ok := s.avatars[key]
	s.mu.Unlock()
	if !ok {
		data = avatarPNG(parts[0], size)
		s.mu.Lock()
		s.avatars[key] = data
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// avatarPNG draws a square in a color derived from id.
func avatarPNG(id string, size int) []byte {
	var rgb [3]byte
	fmt.Sscanf(colorOf(id), "%02x%02x%02x", &rgb[0], &rgb[1], &rgb[2])
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.RGBA{rgb[0], rgb[1], rgb[2], 255}})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
