package withbridge

import "example.com/m/bridge"

var _ = bridge.X
