package discordfake

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// UpdateProfile changes a user's global (display) name and avatar hash, as
// the user would in their settings: USER_UPDATE to their own sessions and
// GUILD_MEMBER_UPDATE, per shared guild, to sessions with GUILD_MEMBERS.
func (s *Server) UpdateProfile(userID, globalName, avatar string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("UpdateProfile", userID)
	u.globalName, u.avatar = globalName, avatar
	self := s.userJSON(u)
	s.emitLocked("USER_UPDATE", 0, func(v string) bool { return v == u.id }, func(*session) any { return self })
	for _, g := range s.guildsOf(u.id) {
		m := s.memberJSON(g, u.id, true)
		m.GuildID = g.id
		s.emitLocked("GUILD_MEMBER_UPDATE", IntentGuildMembers, func(v string) bool {
			return v != u.id && slices.Contains(g.members, v)
		}, func(*session) any { return m })
	}
	s.notifyLocked()
}

// MarkRead records that a person read a channel up to a message, as the
// official apps do (MESSAGE_ACK to the person's own sessions).
func (s *Server) MarkRead(userID, channelID, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("MarkRead", userID, channelID)
	s.mustMessage("MarkRead", c, messageID)
	s.ackLocked(userID, c, messageID)
	s.notifyLocked()
}

func (s *Server) ackLocked(userID string, c *channel, messageID string) {
	if s.readStates[userID] == nil {
		s.readStates[userID] = map[string]string{}
	}
	s.readStates[userID][c.id] = messageID
	s.ackVersion++
	d := map[string]any{"channel_id": c.id, "message_id": messageID, "version": s.ackVersion}
	s.emitLocked("MESSAGE_ACK", 0, func(v string) bool { return v == userID }, func(ss *session) any {
		if ss.bot {
			return nil
		}
		return d
	})
}

// ReadState returns the last message a user marked read in a channel ("" if
// none).
func (s *Server) ReadState(userID, channelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readStates[userID][channelID]
}

// restAck answers POST /channels/{id}/messages/{id}/ack, the read marker of
// user accounts (bots have no read state).
func restAck(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	s.ackLocked(c.me.id, ch, m.id)
	return http.StatusOK, map[string]any{"token": nil}
}

// serveAvatar serves /avatars/USER/HASH.png (or .webp, .jpg, .gif), the
// avatar CDN path: a small PNG whose color derives from the hash, while the
// hash is the user's current avatar; anything else is 404.
func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/avatars/"), "/")
	ok := false
	var hash string
	if len(parts) == 2 {
		hash = parts[1]
		if i := strings.LastIndexByte(hash, '.'); i > 0 {
			hash = hash[:i]
		}
		s.mu.Lock()
		u := s.users[parts[0]]
		ok = u != nil && u.avatar != "" && u.avatar == hash
		s.mu.Unlock()
	}
	if !ok {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	size := 64
	if n, err := strconv.Atoi(r.URL.Query().Get("size")); err == nil && n >= 16 && n <= 4096 {
		size = min(n, 512)
	}
	h := fnvHash(hash)
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	fill := color.RGBA{R: uint8(h), G: uint8(h >> 8), B: uint8(h >> 16), A: 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = fill.R, fill.G, fill.B, fill.A
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
}
