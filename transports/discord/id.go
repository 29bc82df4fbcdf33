package discord

import (
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/bridge"
)

// IDs. Discord names everything with snowflakes: decimal numbers that are
// unique across all of Discord and never reused. So:
//
//   - a contact's UserID is the person's user snowflake, which is also
//     their JID localpart ("80351110224678912@discord.example.org"): it
//     stays the same when they change their username or display name,
//     which are shown as their nick (XEP-0172) and roster name instead;
//   - a ChatID is the channel's snowflake (a DM is a channel);
//   - a MessageID is the message's snowflake;
//   - an AccountID is the kind of account and the user's snowflake:
//     "bot:ID" for a user linked to the instance's bot, "user:ID" for a
//     personal account logged in with the user's own token.

// Account kinds.
const (
	kindBot  = "bot"
	kindUser = "user"
)

// MakeAccountID returns the AccountID of a user's account of a kind
// ("bot" or "user").
func MakeAccountID(kind, userID string) bridge.AccountID {
	return bridge.AccountID(kind + ":" + userID)
}

// ParseAccountID splits an AccountID into its kind and user snowflake.
func ParseAccountID(a bridge.AccountID) (kind, userID string, err error) {
	kind, userID, ok := strings.Cut(string(a), ":")
	if !ok || (kind != kindBot && kind != kindUser) || !isSnowflake(userID) {
		return "", "", fmt.Errorf("discord: account ID %q: %w", a, ErrBadID)
	}
	return kind, userID, nil
}

// isSnowflake reports whether s is a snowflake: 1 to 20 decimal digits,
// without a leading zero.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// snowflakeLess orders snowflakes by value (they grow with time).
func snowflakeLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// ContactLocalpart implements bridge.Transport: a contact's JID localpart
// is their user snowflake.
func (t *Transport) ContactLocalpart(id bridge.UserID) string { return string(id) }
