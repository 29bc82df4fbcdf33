package a_test

import (
	"example.com/m/store"
	"example.com/m/transports/a"
	"example.com/m/xmpp"
)

var _, _, _ = store.X, a.X, xmpp.X
