package a

import (
	"example.com/m/store"
	"example.com/m/transports/b/bfake"
)

var _, _ = store.X, bfake.X
