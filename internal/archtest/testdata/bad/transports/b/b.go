package b

import "example.com/m/bridge"

var _ = bridge.X
