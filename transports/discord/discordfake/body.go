package discordfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// messageBody is the JSON body of message create, edit and webhook
// execute, with the files of a multipart request.
type messageBody struct {
	Content         *string          `json:"content"`
	Nonce           json.RawMessage  `json:"nonce"`
	TTS             bool             `json:"tts"`
	Embeds          json.RawMessage  `json:"embeds"`
	AllowedMentions json.RawMessage  `json:"allowed_mentions"`
	Reference       *bodyReference   `json:"message_reference"`
	Flags           int              `json:"flags"`
	Attachments     *[]bodyAttachRef `json:"attachments"`
	Username        string           `json:"username"`   // webhooks
	AvatarURL       string           `json:"avatar_url"` // webhooks
	ThreadName      string           `json:"thread_name"`

	files  []*attachment
	fields []string // top-level keys
}

type bodyReference struct {
	MessageID       string `json:"message_id"`
	ChannelID       string `json:"channel_id"`
	GuildID         string `json:"guild_id"`
	FailIfNotExists *bool  `json:"fail_if_not_exists"`
}

type bodyAttachRef struct {
	ID json.RawMessage `json:"id"`
}

type allowedMentions struct {
	Parse       []string `json:"parse"`
	Users       []string `json:"users"`
	Roles       []string `json:"roles"`
	RepliedUser bool     `json:"replied_user"`
}

var errBadBody = errors.New("bad body")

// The top-level fields each kind of body documents.
var (
	createFields  = []string{"content", "nonce", "tts", "embeds", "embed", "allowed_mentions", "message_reference", "components", "sticker_ids", "attachments", "flags", "enforce_nonce", "poll", "payload_json"}
	editFields    = []string{"content", "embeds", "embed", "flags", "allowed_mentions", "components", "attachments", "payload_json"}
	webhookFields = []string{"content", "username", "avatar_url", "tts", "embeds", "allowed_mentions", "components", "attachments", "flags", "thread_name", "applied_tags", "poll", "payload_json"}
)

// parseMessageBody reads a JSON or multipart (payload_json + files[n])
// message body.
func parseMessageBody(c *call) (*messageBody, error) {
	raw := c.body
	var files []*attachment
	mt, params, _ := mime.ParseMediaType(c.ctype)
	if mt == "multipart/form-data" {
		raw = nil
		mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, errBadBody
			}
			data, err := io.ReadAll(p)
			if err != nil {
				return nil, errBadBody
			}
			switch name := p.FormName(); {
			case name == "payload_json":
				raw = data
			case strings.HasPrefix(name, "files[") || name == "file" || strings.HasPrefix(name, "file"):
				files = append(files, &attachment{filename: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
			}
		}
	}
	b := &messageBody{files: files}
	if len(bytes.TrimSpace(raw)) == 0 {
		return b, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || json.Unmarshal(raw, b) != nil {
		return nil, errBadBody
	}
	for k := range obj {
		b.fields = append(b.fields, k)
	}
	slices.Sort(b.fields)
	return b, nil
}

// unknownFieldsLocked records the body's undocumented fields for the route
// and returns the first one.
func (s *Server) unknownFieldsLocked(route string, b *messageBody, known []string) string {
	first := ""
	for _, f := range b.fields {
		if slices.Contains(known, f) {
			continue
		}
		if first == "" {
			first = f
		}
		if !slices.Contains(s.unknownFields[route], f) {
			s.unknownFields[route] = append(s.unknownFields[route], f)
		}
	}
	return first
}

// checkContent validates content length (2,000 characters).
func checkContent(content string) (int, any, bool) {
	if utf8.RuneCountInString(content) > 2000 {
		st, b := formErr("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
		return st, b, false
	}
	return 0, nil, true
}

func (b *messageBody) nonce() string {
	var s string
	if json.Unmarshal(b.Nonce, &s) == nil {
		return s
	}
	return strings.Trim(string(b.Nonce), `"`)
}

var mentionRE = regexp.MustCompile(`<@!?([0-9]{1,20})>`)

// mentionsLocked computes who a message pings: user mentions in the content,
// @everyone/@here, and the author of the replied message, as restricted by
// allowed_mentions (absent: everything parses and replies ping).
func (s *Server) mentionsLocked(content string, amRaw json.RawMessage, replyAuthor string) ([]string, bool, bool) {
	var am *allowedMentions
	if len(amRaw) > 0 && string(amRaw) != "null" {
		am = &allowedMentions{}
		if json.Unmarshal(amRaw, am) != nil {
			return nil, false, false
		}
		if slices.Contains(am.Parse, "users") && len(am.Users) > 0 {
			return nil, false, false // Discord refuses both forms at once
		}
	}
	var ids []string
	for _, m := range mentionRE.FindAllStringSubmatch(content, -1) {
		id := m[1]
		if s.users[id] == nil || slices.Contains(ids, id) {
			continue
		}
		if am == nil || slices.Contains(am.Parse, "users") || slices.Contains(am.Users, id) {
			ids = append(ids, id)
		}
	}
	everyone := strings.Contains(content, "@everyone") || strings.Contains(content, "@here")
	if am != nil {
		everyone = everyone && slices.Contains(am.Parse, "everyone")
	}
	if replyAuthor != "" && (am == nil || am.RepliedUser) && !slices.Contains(ids, replyAuthor) {
		ids = append(ids, replyAuthor)
	}
	return ids, everyone, true
}
