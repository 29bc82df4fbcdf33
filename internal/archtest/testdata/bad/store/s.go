package store

import "example.com/m/xmpp"

var _ = xmpp.X
