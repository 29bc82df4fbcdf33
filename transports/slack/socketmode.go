package slack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xgate-im/xgate/bridge"
)

// Socket Mode is read here directly from the WebSocket rather than through
// slack-go's socketmode client: that client decodes every envelope into
// typed structs xgate does not use, several times over (about a fifth of
// the CPU of a relayed message). Here each frame is decoded once into the
// few fields used (socketFrame, envelope.go).

// Run implements bridge.Runner: it keeps the instance's one Socket Mode
// connection (app-level token) and hands its events to the router until
// ctx ends. It opens a new connection when Slack asks (a disconnect
// message) or the connection breaks; envelopes not acknowledged by then
// come again on the new connection. Run fails only when Slack refuses the
// app-level token.
func (t *Transport) Run(ctx context.Context) error {
	if t.set.botToken != "" {
		t.identifyBot(ctx)
	}
	sm := &socketMode{t: t}
	t.router.ack = sm.acknowledge
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := t.fanout.Resume(runCtx); err != nil && runCtx.Err() == nil {
		t.log.Error("reading the events parked by the last run", "err", err)
	}
	err := sm.run(runCtx)
	cancel()
	t.router.wait()
	if ctx.Err() != nil || err == nil {
		return nil
	}
	return fmt.Errorf("slack: Socket Mode stopped: Slack refused the app-level token (%v); check app_token: %w", err, bridge.ErrAuth)
}

// identifyBot learns the app's bot in its workspace, to recognize its
// posts. A failure is logged: only that recognition is lost.
func (t *Transport) identifyBot(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	at, err := t.client(t.set.botToken).AuthTestContext(actx)
	if err != nil {
		t.log.Warn("checking bot_token", "err", classify("auth.test", err))
		return
	}
	t.mu.Lock()
	t.bots[at.TeamID] = botInfo{userID: at.UserID, botID: at.BotID}
	t.mu.Unlock()
}

// socketMode is the Socket Mode client: one connection at a time, read by
// run, written by the connection's writer goroutine only.
//
// Acknowledgements are queued here, by whoever settles an envelope, and
// written by the current connection's writer, woken once for all that
// wait: no goroutine in between. Those queued between connections wait
// for the next one.
type socketMode struct {
	t *Transport

	mu   sync.Mutex
	cur  *socketConn // the connection acknowledgements go to; nil between connections
	acks []string    // envelope IDs waiting for the writer
}

// socketConn is one Socket Mode WebSocket and its writer.
type socketConn struct {
	ws      *websocket.Conn
	bc      *batchConn
	ackWake chan struct{} // acknowledgements wait (capacity 1)
	gone    chan struct{} // closed when the connection is finished
	once    sync.Once
}

func (c *socketConn) close() {
	c.once.Do(func() {
		close(c.gone)
		_ = c.ws.Close()
	})
}

// Backoff between failed connection attempts.
const (
	socketRetryMin = 250 * time.Millisecond
	socketRetryMax = 30 * time.Second
	// socketReadTimeout: Slack pings every few seconds; a connection
	// silent for this long is dead.
	socketReadTimeout  = 2 * time.Minute
	socketWriteTimeout = 10 * time.Second
)

// run connects and reads until ctx ends, or until Slack refuses the token
// (the error returned).
func (sm *socketMode) run(ctx context.Context) error {
	t := sm.t
	delay := time.Duration(0)
	for {
		if delay > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
		}
		t.log.Debug("Socket Mode connecting")
		_, url, err := t.app.StartSocketModeContext(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(classify("apps.connections.open", err), bridge.ErrAuth) {
				t.log.Error("Socket Mode refused the app-level token")
				return err
			}
			t.log.Warn("Socket Mode connection failed; retrying", "err", err)
			delay = min(max(2*delay, socketRetryMin), socketRetryMax)
			continue
		}
		ws, bc, err := dialSocket(ctx, url)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.log.Warn("Socket Mode connection failed; retrying", "err", err)
			delay = min(max(2*delay, socketRetryMin), socketRetryMax)
			continue
		}
		delay = 0
		t.mu.Lock()
		if t.connected.IsZero() {
			t.connected = time.Now()
		}
		t.mu.Unlock()
		t.log.Info("Socket Mode connected")
		if !sm.serve(ctx, ws, bc) && ctx.Err() == nil {
			delay = socketRetryMin // broke: do not hammer Slack
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// serve reads one connection until it breaks, Slack asks to disconnect or
// ctx ends. It reports whether it ended because Slack asked. bc is the
// connection's batchConn (see dialSocket).
func (sm *socketMode) serve(ctx context.Context, ws *websocket.Conn, bc *batchConn) (asked bool) {
	t := sm.t
	c := &socketConn{ws: ws, bc: bc, ackWake: make(chan struct{}, 1), gone: make(chan struct{})}
	ws.SetReadLimit(maxPayload + 64<<10)
	ws.SetPingHandler(func(data string) error {
		_ = ws.SetReadDeadline(time.Now().Add(socketReadTimeout))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(socketWriteTimeout))
		if err == nil {
			err = bc.flush()
		}
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	var wg sync.WaitGroup
	wg.Go(func() { sm.write(c) })
	stop := context.AfterFunc(ctx, c.close)
	defer func() {
		stop()
		sm.mu.Lock()
		if sm.cur == c {
			sm.cur = nil
		}
		sm.mu.Unlock()
		c.close()
		wg.Wait()
	}()
	sm.mu.Lock()
	sm.cur = c
	if len(sm.acks) > 0 {
		c.ackWake <- struct{}{} // queued while there was no connection
	}
	sm.mu.Unlock()
	// One buffer for every frame read: nothing keeps a frame's bytes once
	// it is decoded (decodeFrame copies what it keeps).
	var buf bytes.Buffer
	for {
		_ = ws.SetReadDeadline(time.Now().Add(socketReadTimeout))
		data, err := readFrame(ws, &buf)
		if err != nil {
			if ctx.Err() == nil {
				t.log.Debug("Socket Mode connection ended", "err", err)
			}
			return false
		}
		f, err := decodeFrame(data)
		if err != nil {
			t.log.Warn("unreadable Socket Mode message", "err", err)
			if f.Type == "events_api" && f.EnvelopeID != "" {
				// It will never read better: acknowledge it so that it
				// does not come back.
				t.router.acknowledge(f.EnvelopeID)
			}
			continue
		}
		switch f.Type {
		case "hello":
			t.log.Debug("Socket Mode hello")
		case "disconnect":
			// Slack sends nothing new on this connection: open the next
			// one; acknowledgements go there from now on.
			t.log.Debug("Socket Mode disconnect", "reason", f.Reason)
			return true
		case "events_api":
			if f.EnvelopeID != "" {
				t.onEnvelope(ctx, f.EnvelopeID, f.Payload)
			}
		default:
			// Interactivity and slash commands: the app does not offer any.
			if f.EnvelopeID != "" {
				t.log.Warn("unsupported Socket Mode envelope", "type", f.Type)
				t.router.acknowledge(f.EnvelopeID)
			} else {
				t.log.Debug("Socket Mode message ignored", "type", f.Type)
			}
		}
	}
}

// dialSocket opens a Socket Mode WebSocket whose writes, once it is open,
// are batched: the frames written go out together when the returned
// batchConn is flushed, in one write to the socket (and one TLS record)
// rather than one each.
func dialSocket(ctx context.Context, url string) (*websocket.Conn, *batchConn, error) {
	var bc *batchConn
	d := *websocket.DefaultDialer
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		bc = &batchConn{Conn: c}
		return bc, nil
	}
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, nil, err
	}
	bc.batch() // the TLS and HTTP handshakes went straight through
	return ws, bc, nil
}

// batchConn is a connection whose writes are buffered, once batch was
// called, until flush: the WebSocket writes its frames one write each.
type batchConn struct {
	net.Conn
	mu sync.Mutex
	w  *bufio.Writer // nil: writes go straight through
}

// Write implements net.Conn.
func (c *batchConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return c.Conn.Write(b)
	}
	return c.w.Write(b)
}

// batch has writes buffered from now on.
func (c *batchConn) batch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w = bufio.NewWriterSize(c.Conn, 16<<10)
}

// flush writes what is buffered. A nil batchConn has nothing buffered.
func (c *batchConn) flush() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return nil
	}
	return c.w.Flush()
}

// keptFrameBuffer is the largest read buffer kept from one frame to the
// next; a larger frame's is let go.
const keptFrameBuffer = 64 << 10

// readFrame reads the next message of ws into buf, which it reuses, and
// returns its bytes, valid until the next call.
func readFrame(ws *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	if buf.Cap() > keptFrameBuffer {
		*buf = bytes.Buffer{}
	}
	buf.Reset()
	_, r, err := ws.NextReader()
	if err != nil {
		return nil, err
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// write is the connection's one writer: it sends the queued
// acknowledgements until the connection is finished. Those it could not
// send wait for the next connection.
func (sm *socketMode) write(c *socketConn) {
	for {
		select {
		case <-c.gone:
			return
		case <-c.ackWake:
		}
		sm.mu.Lock()
		ids := sm.acks
		sm.acks = nil
		sm.mu.Unlock()
		// The frames of all the acknowledgements go out in one write.
		_ = c.ws.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
		var err error
		for _, id := range ids {
			if err = c.ws.WriteMessage(websocket.TextMessage, ackFrame(id)); err != nil {
				break
			}
		}
		if err == nil {
			err = c.bc.flush()
		}
		if err != nil {
			sm.t.log.Debug("Socket Mode write failed", "err", err)
			sm.mu.Lock()
			sm.acks = append(ids, sm.acks...) // sent again on the next connection: harmless
			sm.mu.Unlock()
			c.close()
			return
		}
	}
}

// acknowledge queues envelopes to be acknowledged, in order, and wakes the
// connection's writer if there is one. It never blocks.
func (sm *socketMode) acknowledge(envelopeIDs []string) {
	sm.mu.Lock()
	sm.acks = append(sm.acks, envelopeIDs...)
	c := sm.cur
	sm.mu.Unlock()
	if c != nil {
		select {
		case c.ackWake <- struct{}{}:
		default:
		}
	}
}

// ackFrame is the acknowledgement of an envelope.
func ackFrame(envelopeID string) []byte {
	id, _ := json.Marshal(envelopeID) // a string always encodes
	return append(append([]byte(`{"envelope_id":`), id...), '}')
}

// onEnvelope routes one events_api envelope.
func (t *Transport) onEnvelope(ctx context.Context, envelopeID string, payload *callback) {
	if payload == nil {
		payload = &callback{}
	}
	in, err := envelopeEvent(payload)
	if err != nil {
		// It will never read better: acknowledge it so that it does not
		// come back, and say so.
		t.log.Warn("unreadable Events API envelope", "envelope", envelopeID, "err", err)
		t.router.acknowledge(envelopeID)
		return
	}
	t.router.dispatch(ctx, envelopeID, in)
}
