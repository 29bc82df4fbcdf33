package xmpp

import "example.com/m/xmpp/jid"

var _ = jid.X
