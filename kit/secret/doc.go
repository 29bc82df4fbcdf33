// Package secret reads the secrets of a configuration (component secrets,
// network tokens) from the one place the configuration names: the value
// itself, a file, or an environment variable.
//
// It owns the rules every part of xgate applies to a secret: exactly one
// source (or none, when the secret is optional), surrounding white space
// (such as the newline an editor leaves at the end of a file) trimmed, an
// empty value refused, and a warning when a secret file is readable by
// everyone. Errors and warnings name the TOML key and the file or variable
// they are about, never the value.
//
// A Source is a plain value; its methods do no network I/O and are safe for
// concurrent use.
package secret
