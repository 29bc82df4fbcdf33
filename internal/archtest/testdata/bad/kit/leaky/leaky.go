package leaky

import "example.com/m/store"

var _ = store.X
