package pure

// X is used by the importers.
var X int
