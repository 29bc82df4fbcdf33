package archtest

import (
	"strings"
)

// area is where a package sits in the house.
type area struct {
	kind string // "xmpp", "store", "bridge", "kit", "transport", "cmd", "archtest" or "other"
	name string // the transport's name, for kind "transport"
}

// areaOf classifies a package path relative to the module root ("" for
// the root, "transports/slack/slackfake", ...).
func areaOf(rel string) area {
	first, rest, _ := strings.Cut(rel, "/")
	switch first {
	case "xmpp", "store", "bridge", "kit", "cmd":
		return area{kind: first}
	case "transports":
		name, _, _ := strings.Cut(rest, "/")
		if name == "" {
			return area{kind: "other"}
		}
		return area{kind: "transport", name: name}
	case "internal":
		if rest == "archtest" || strings.HasPrefix(rest, "archtest/") {
			return area{kind: "archtest"}
		}
	}
	return area{kind: "other"}
}

// isBridge reports whether rel is the bridge package itself.
func isBridge(rel string) bool { return rel == "bridge" }

// forbidden returns why the package at rel (a file of it, test tells
// whether a _test.go file) may not import the package at imp, both paths
// relative to the module root, or "" when it may. kitImportsBridge tells
// whether a kit package imports bridge (directly or through other kit
// packages).
func forbidden(rel, imp string, test bool, kitImportsBridge func(string) bool) string {
	from, to := areaOf(rel), areaOf(imp)
	switch {
	case to.kind == "cmd" && from.kind != "cmd":
		return "nothing imports cmd/..."
	case to.kind == "archtest" && from.kind != "archtest":
		return "nothing imports internal/archtest"
	}
	switch from.kind {
	case "xmpp", "store":
		if to.kind != from.kind {
			return from.kind + " imports nothing of ours outside " + from.kind + "/"
		}
	case "kit":
		if to.kind != "kit" && !isBridge(imp) {
			return "kit packages import nothing of ours but kit and bridge"
		}
	case "transport":
		switch {
		case to.kind == "transport" && to.name != from.name:
			return "a transport never imports another transport"
		case (to.kind == "xmpp" || to.kind == "store") && !test:
			return "a transport never imports xmpp or store (only its end-to-end tests may)"
		}
	case "bridge":
		switch {
		case to.kind == "transport":
			return "bridge never imports a transport"
		case to.kind == "kit" && !test && kitImportsBridge(imp):
			return "bridge imports only kit packages that do not import bridge (a cycle)"
		}
	case "archtest":
		return "internal/archtest imports nothing of ours"
	}
	return ""
}
