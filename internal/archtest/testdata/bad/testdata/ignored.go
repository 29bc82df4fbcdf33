package ignored

import "example.com/m/cmd/m"

var _ = m.X
