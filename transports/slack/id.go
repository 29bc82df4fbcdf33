package slack

import (
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/bridge"
)

// IDs
//
// An account and a contact are both a member of a workspace, written
// "<TEAM>.<USER>" with Slack's own IDs: "T0123ABCD.U0456EFGH". A user ID
// alone is unique only together with its workspace (shared channels and
// Enterprise Grid aside), so the team is always part of it.
//
// Contact JIDs are case-folded by XMPP servers while Slack IDs are upper
// case, so a contact's JID localpart is the lower-cased member ID first, then
// the team: "u0456efgh.t0123abcd". Slack IDs hold only ASCII letters and
// digits, which makes lower-casing lossless: ParseContactLocalpart upper-cases
// it back, in whatever case it arrives.
//
// A chat is a Slack conversation ID ("D…" for a direct message) and a
// message is its "ts" timestamp ("1700000000.000100"), unique within its
// conversation.

// maxIDLen bounds a Slack ID; real ones are 9 to 11 characters.
const maxIDLen = 32

// validID reports whether s looks like a Slack ID whose first letter is one
// of kinds: upper-case ASCII letters and digits.
func validID(s, kinds string) bool {
	if len(s) < 2 || len(s) > maxIDLen || !strings.ContainsRune(kinds, rune(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Kinds of IDs by first letter: teams are "T" (or "E" for an Enterprise
// Grid organization); members are "U" (or "W" in Enterprise Grid); "USLACKBOT"
// is Slackbot.
const (
	teamKinds = "TE"
	userKinds = "UW"
)

// MakeUserID returns the UserID of a member of a workspace.
func MakeUserID(team, user string) bridge.UserID {
	return bridge.UserID(team + "." + user)
}

// MakeAccountID returns the AccountID of an account: the same form as a
// UserID.
func MakeAccountID(team, user string) bridge.AccountID {
	return bridge.AccountID(team + "." + user)
}

// ParseUserID splits a UserID made by MakeUserID into the team and member
// IDs. It fails with ErrBadID on anything else.
func ParseUserID(id bridge.UserID) (team, user string, err error) {
	team, user, ok := strings.Cut(string(id), ".")
	if !ok || !validID(team, teamKinds) || !validID(user, userKinds) {
		return "", "", fmt.Errorf("%w: %q is not a Slack member (TEAM.USER)", ErrBadID, truncate(string(id), 80))
	}
	return team, user, nil
}

// ParseAccountID is ParseUserID for account IDs.
func ParseAccountID(id bridge.AccountID) (team, user string, err error) {
	return ParseUserID(bridge.UserID(id))
}

// ContactLocalpart returns the JID localpart of a contact,
// "u0456efgh.t0123abcd" for "T0123ABCD.U0456EFGH". It returns "" for an ID
// that ParseUserID refuses.
func ContactLocalpart(id bridge.UserID) string {
	team, user, err := ParseUserID(id)
	if err != nil {
		return ""
	}
	return strings.ToLower(user) + "." + strings.ToLower(team)
}

// ParseContactLocalpart is the inverse of ContactLocalpart: it accepts the
// localpart in any case and returns the UserID, or fails with ErrBadID.
func ParseContactLocalpart(local string) (bridge.UserID, error) {
	user, team, ok := strings.Cut(local, ".")
	if ok {
		user, team = strings.ToUpper(user), strings.ToUpper(team)
	}
	if !ok || !validID(team, teamKinds) || !validID(user, userKinds) {
		return "", fmt.Errorf("%w: %q is not a Slack contact (user.team)", ErrBadID, truncate(local, 80))
	}
	return MakeUserID(team, user), nil
}

// truncate shortens s to at most n bytes for error messages, on a rune
// boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
