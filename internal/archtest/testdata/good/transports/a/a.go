package a

import (
	"example.com/m/bridge"
	"example.com/m/kit/rl"
	"example.com/m/transports/a/afake"
)

var _, _, _ = bridge.X, rl.X, afake.X
