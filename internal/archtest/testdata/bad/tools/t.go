package tools

import "example.com/m/cmd/m"

var _ = m.X
