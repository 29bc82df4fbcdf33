package slack

import (
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// slackHarness runs the bridge's conformance suite against slackfake:
// alice registers, bob is the peer in their direct conversation.
type slackHarness struct{}

func (slackHarness) Start(t *testing.T) (bridge.Transport, bridgetest.World) {
	w := newWorld(t)
	return w.transport(), &slackWorld{w: w, t: t}
}

type slackWorld struct {
	w *world
	t *testing.T
}

func (s *slackWorld) Credentials() map[string]string { return map[string]string{"token": s.w.aliceTok} }
func (s *slackWorld) BadCredentials() map[string]string {
	return map[string]string{"token": "xoxp-1-not-a-token"}
}
func (s *slackWorld) Peer() bridge.UserID { return s.w.uid(s.w.bob) }

func (s *slackWorld) PeerSays(_ *testing.T, text string) bridge.MessageID {
	return bridge.MessageID(s.w.fake.Post(s.w.bob.ID, s.w.aliceBob, text))
}

func (s *slackWorld) PeerEdits(_ *testing.T, id bridge.MessageID, text string) {
	s.w.fake.Edit(s.w.bob.ID, s.w.aliceBob, string(id), text)
}

func (s *slackWorld) PeerRetracts(_ *testing.T, id bridge.MessageID) {
	s.w.fake.Delete(s.w.bob.ID, s.w.aliceBob, string(id))
}

func (s *slackWorld) PeerReacts(_ *testing.T, id bridge.MessageID) {
	s.w.fake.React(s.w.bob.ID, s.w.aliceBob, string(id), "thumbsup")
}

func (s *slackWorld) find(id bridge.MessageID) (slackfake.Message, bool) {
	for _, m := range s.w.fake.Messages(s.w.aliceBob) {
		if m.TS == string(id) {
			return m, true
		}
	}
	return slackfake.Message{}, false
}

func (s *slackWorld) Message(_ *testing.T, id bridge.MessageID) (string, bool) {
	m, ok := s.find(id)
	return m.Text, ok
}

func (s *slackWorld) Reactions(_ *testing.T, id bridge.MessageID) int {
	m, _ := s.find(id)
	return len(m.Reactions)
}

func (s *slackWorld) Texts(*testing.T) []string {
	var out []string
	for _, m := range s.w.fake.Messages(s.w.aliceBob) {
		out = append(out, m.Text)
	}
	return out
}

func (s *slackWorld) RateLimit(*testing.T) { s.w.fake.RateLimit("chat.postMessage", 1, 0) }

func (s *slackWorld) Unacknowledged(*testing.T) int { return s.w.fake.Pending() }

func (s *slackWorld) WaitAcknowledged(t *testing.T) {
	t.Helper()
	if err := s.w.fake.WaitUntil(bounded(t, 10*time.Second), func() bool { return s.w.fake.Pending() == 0 }); err != nil {
		t.Fatalf("%d envelopes never acknowledged (%v)", s.w.fake.Pending(), err)
	}
}

func (s *slackWorld) Interrupt(*testing.T) { s.w.fake.DropSockets() }

func (s *slackWorld) Revoke(*testing.T) { s.w.fake.SetTokenState(s.w.aliceTok, slackfake.TokenRevoked) }

func TestConformance(t *testing.T) { bridgetest.RunConformance(t, slackHarness{}) }
