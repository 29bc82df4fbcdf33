package main

import (
	"example.com/m/bridge"
	"example.com/m/kit/pure"
	"example.com/m/store"
	"example.com/m/transports/a"
	"example.com/m/xmpp"
)

var _, _, _, _, _ = bridge.X, pure.X, store.X, a.X, xmpp.X

func main() {}
