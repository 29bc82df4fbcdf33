package bridge

import (
	"example.com/m/kit/pure"
	"example.com/m/store"
	"example.com/m/xmpp"
)

var _, _, _ = pure.X, store.X, xmpp.X
