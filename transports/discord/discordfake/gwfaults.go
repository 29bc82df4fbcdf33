package discordfake

// Gateway faults. Each applies to the sockets live at the call.

// DropSockets closes every Gateway socket abruptly, without a close frame,
// as a network failure would. Sessions stay resumable: dispatches raised
// meanwhile are replayed on RESUME.
func (s *Server) DropSockets() {
	s.mu.Lock()
	conns := s.gw.liveConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}

// Reconnect sends op 7 RECONNECT on every socket, as Discord does before it
// moves a session; each socket gets no new dispatches and is closed by the
// server after the reconnect grace if the client does not close it. The
// sessions stay resumable.
func (s *Server) Reconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.gw.conns {
		if !c.closing {
			c.closing = true
			c.ctl = append(c.ctl, ctlItem{frame: gwFrame{data: []byte(`{"op":7,"s":null,"t":null,"d":null}`)}, grace: true})
		}
	}
	s.notifyLocked()
}

// InvalidateSessions sends op 9 INVALID_SESSION with d:resumable on every
// socket with a session and detaches the session from it, so the client
// identifies again (on the same socket, as discordgo does, or a new one).
// With resumable false the sessions are gone for good and RESUME answers
// op 9 too.
func (s *Server) InvalidateSessions(resumable bool) {
	frame := []byte(`{"op":9,"s":null,"t":null,"d":false}`)
	if resumable {
		frame = []byte(`{"op":9,"s":null,"t":null,"d":true}`)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.gw.conns {
		if c.sess == nil || c.closing {
			continue
		}
		c.ctl = append(c.ctl, ctlItem{frame: gwFrame{data: frame}})
		c.sess.conn = nil
		if !resumable {
			c.sess.invalid = true
		}
		c.sess, c.sent = nil, 0
	}
	s.notifyLocked()
}

// CloseSockets closes every socket with a close frame carrying a Discord
// close code (4000 unknown error, 4009 session timed out…). Sessions stay
// resumable for codes after which Discord lets a client resume (4000 to
// 4003, 4005, 4008); 4004, 4007, 4009 and 4010 on end them.
func (s *Server) CloseSockets(code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.gw.conns {
		if c.sess != nil && (code == 4004 || code == 4007 || code == 4009 || code >= 4010) {
			c.sess.invalid = true
		}
		c.closeWithLocked(code, reason)
	}
	s.notifyLocked()
}

// WithholdHeartbeatACK stops (true) or resumes (false) answering op 1
// heartbeats with op 11. discordgo reconnects and resumes once five
// heartbeat intervals pass without an ACK.
func (s *Server) WithholdHeartbeatACK(withhold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.withholdACK = withhold
	s.notifyLocked()
}
