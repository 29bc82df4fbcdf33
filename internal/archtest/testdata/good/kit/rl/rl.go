package rl

import (
	"example.com/m/bridge"
	"example.com/m/kit/pure"
)

var _, _ = bridge.X, pure.X
