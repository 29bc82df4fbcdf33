package sms

import (
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

// fakeHarness runs the bridge's conformance suite against smsfake, with a
// user who registered their own Twilio-compatible account.
type fakeHarness struct{}

func (fakeHarness) Start(t *testing.T) (bridge.Transport, bridgetest.World) {
	w := newFakeWorld(t, smsfake.Options{})
	return w.tr, w
}

func TestConformance(t *testing.T) { bridgetest.RunConformance(t, fakeHarness{}) }
