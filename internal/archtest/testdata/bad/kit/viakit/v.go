package viakit

import "example.com/m/kit/withbridge"

var _ = withbridge.X
