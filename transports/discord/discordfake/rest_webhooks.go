package discordfake

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func (s *Server) webhookJSON(h *webhook) wireWebhook {
	w := wireWebhook{ID: h.id, Type: 1, GuildID: h.guildID, ChannelID: h.channelID, Name: h.name,
		Avatar: nullable(h.avatar), Token: h.token, ApplicationID: nullable(h.appID)}
	if u := s.users[h.creatorID]; u != nil {
		uj := s.userJSON(u)
		w.User = &uj
	}
	return w
}

// checkWebhookName applies Discord's rules for webhook and message
// usernames: 1 to 80 characters, not containing "discord" or "clyde".
func checkWebhookName(field, name string) (int, any, bool) {
	if n := len([]rune(name)); n < 1 || n > 80 {
		st, e := formErr(field, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
		return st, e, false
	}
	low := strings.ToLower(name)
	if strings.Contains(low, "discord") || strings.Contains(low, "clyde") {
		st, e := formErr(field, "USERNAME_INVALID_CONTAINS", "Username cannot contain \"discord\" or \"clyde\".")
		return st, e, false
	}
	return 0, nil, true
}

func restCreateWebhook(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	if ch.kind != GuildText {
		return apiErr(http.StatusBadRequest, codeWrongChannelType, "Cannot execute action on this channel type")
	}
	var b struct {
		Name   string `json:"name"`
		Avatar string `json:"avatar"`
	}
	if json.Unmarshal(c.body, &b) != nil {
		return badJSON()
	}
	if st, e, ok := checkWebhookName("name", b.Name); !ok {
		return st, e
	}
	h := &webhook{id: s.ids.next(), channelID: ch.id, guildID: ch.guildID, name: b.Name, creatorID: c.me.id}
	h.token = webhookToken(h.id)
	if b.Avatar != "" {
		h.avatar = fmt.Sprintf("%032x", fnvHash(b.Avatar))
	}
	if c.tok.bot {
		h.appID = c.me.id // the application's ID is its bot user's
	}
	s.webhooks[h.id] = h
	ch.webhooks = append(ch.webhooks, h.id)
	return http.StatusOK, s.webhookJSON(h)
}

func webhookToken(id string) string {
	return fmt.Sprintf("wh-%s-%016x%016x", id, fnvHash("a"+id), fnvHash("b"+id))
}

func fnvHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func restChannelWebhooks(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	out := []wireWebhook{}
	for _, id := range ch.webhooks {
		out = append(out, s.webhookJSON(s.webhooks[id]))
	}
	return http.StatusOK, out
}

func restGuildWebhooks(s *Server, c *call) (int, any) {
	g, st, e := s.guildFor(c)
	if g == nil {
		return st, e
	}
	out := []wireWebhook{}
	for _, cid := range g.channels {
		for _, id := range s.channels[cid].webhooks {
			out = append(out, s.webhookJSON(s.webhooks[id]))
		}
	}
	return http.StatusOK, out
}

// webhookFor resolves a webhook from its ID and token in the path.
func (s *Server) webhookFor(c *call) (*webhook, int, any) {
	h := s.webhooks[c.params["webhook.id"]]
	if h == nil || h.token != c.params["webhook.token"] {
		st, e := apiErr(http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
		return nil, st, e
	}
	return h, 0, nil
}

func restExecuteWebhook(s *Server, c *call) (int, any) {
	h, st, e := s.webhookFor(c)
	if h == nil {
		return st, e
	}
	ch := s.channels[h.channelID]
	if tid := c.query.Get("thread_id"); tid != "" {
		t := s.channels[tid]
		if t == nil || t.parentID != h.channelID {
			return apiErr(http.StatusNotFound, codeUnknownChannel, "Unknown Channel")
		}
		ch = t
	}
	b, err := parseMessageBody(c)
	if err != nil {
		return badJSON()
	}
	b.Reference = nil // webhooks cannot reply
	m, st, e := s.buildMessageLocked(c, ch, b, webhookFields)
	if m == nil {
		return st, e
	}
	m.webhookID, m.hookName, m.hookAvatar = h.id, h.name, h.avatar
	if b.Username != "" {
		if st, e, ok := checkWebhookName("username", b.Username); !ok {
			return st, e
		}
		m.hookName = b.Username
	}
	if b.AvatarURL != "" {
		m.hookAvatar = fmt.Sprintf("%032x", fnvHash(b.AvatarURL))
	}
	s.postLocked(ch, m)
	if w := c.query.Get("wait"); w != "true" && w != "1" {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, s.messageJSON(ch, m, "", false, false)
}

// webhookMessageFor resolves a message the webhook posted.
func (s *Server) webhookMessageFor(c *call) (*channel, *message, int, any) {
	h, st, e := s.webhookFor(c)
	if h == nil {
		return nil, nil, st, e
	}
	id := c.params["message.id"]
	for _, cid := range s.channelOrder {
		ch := s.channels[cid]
		if ch.id != h.channelID && ch.parentID != h.channelID {
			continue
		}
		if m := ch.byID[id]; m != nil && m.webhookID == h.id {
			return ch, m, 0, nil
		}
	}
	st, e = apiErr(http.StatusNotFound, codeUnknownMessage, "Unknown Message")
	return nil, nil, st, e
}

func restEditWebhookMessage(s *Server, c *call) (int, any) {
	ch, m, st, e := s.webhookMessageFor(c)
	if m == nil {
		return st, e
	}
	return s.applyEditLocked(c, ch, m)
}

func restDeleteWebhookMessage(s *Server, c *call) (int, any) {
	ch, m, st, e := s.webhookMessageFor(c)
	if m == nil {
		return st, e
	}
	s.deleteLocked(ch, m)
	return http.StatusNoContent, nil
}

// attachmentTTL is how long attachment links work, like Discord's signed
// CDN links (ex= is the expiry in hex Unix seconds).
const attachmentTTL = 24 * time.Hour

func (s *Server) attachmentURL(channelID string, a *attachment) string {
	path := "/attachments/" + channelID + "/" + a.id + "/" + url.PathEscape(a.filename)
	issued := snowflakeTime(idNum(a.id))
	ex := strconv.FormatInt(issued.Add(attachmentTTL).Unix(), 16)
	is := strconv.FormatInt(issued.Unix(), 16)
	return s.base + path + "?ex=" + ex + "&is=" + is + "&hm=" + fmt.Sprintf("%016x", fnvHash(path+ex))
}

// serveAttachment serves a file of a message while its link is valid; an
// expired or tampered link answers 404 "This content is no longer
// available.", as Discord's CDN.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/attachments/"), "/")
	q := r.URL.Query()
	s.mu.Lock()
	var found *attachment
	if len(parts) == 3 {
		if ch := s.channels[parts[0]]; ch != nil {
			for _, m := range ch.msgs {
				for _, a := range m.attachments {
					if a.id == parts[1] {
						found = a
					}
				}
			}
		}
	}
	now := s.opts.now()
	s.mu.Unlock()
	ex, err := strconv.ParseInt(q.Get("ex"), 16, 64)
	path := "/attachments/" + strings.Join(parts, "/")
	if found == nil || err != nil || q.Get("hm") != fmt.Sprintf("%016x", fnvHash(path+q.Get("ex"))) || now.Unix() >= ex {
		http.Error(w, "This content is no longer available.", http.StatusNotFound)
		return
	}
	if found.contentType != "" {
		w.Header().Set("Content-Type", found.contentType)
	}
	w.Write(found.data)
}
