// Package confcheck collects the problems of a transport's configuration so
// that an admin sees all of them at once, each naming its TOML key, and
// owns the checks every transport repeats: http(s) base URLs, secrets read
// through kit/secret, and send rates with their bursts.
//
// A Problems value is meant for one validation on one goroutine.
package confcheck
