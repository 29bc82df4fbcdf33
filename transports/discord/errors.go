package discord

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Errors of this package.
var (
	// ErrConfig: the configuration is invalid (see Config.Validate).
	ErrConfig = errors.New("discord: invalid configuration")
	// ErrBadID: an ID is not one this transport made.
	ErrBadID = errors.New("discord: malformed ID")
	// ErrPrivilegedIntent: Discord refused the bot's connection (close
	// code 4014) because a privileged intent it asks for is not enabled
	// in the Developer Portal.
	ErrPrivilegedIntent = errors.New("discord: a privileged intent is not enabled for the bot")
	// ErrTooLong: an edit is longer than one Discord message.
	ErrTooLong = errors.New("discord: text longer than one message")
	// ErrAlreadyLinked: the Discord user is linked to another XMPP
	// address through the bot.
	ErrAlreadyLinked = errors.New("discord: this Discord user is already linked to another XMPP address")
	// ErrFileTooLarge: an attachment is larger than Discord accepts.
	ErrFileTooLarge = errors.New("discord: file larger than Discord accepts")
)

// errNotMember: an event of a guild the account's user is not in; it is
// not theirs to see.
var errNotMember = fmt.Errorf("discord: not a member of the guild: %w", bridge.ErrNotFound)

// Discord's JSON error codes this transport tells apart.
const (
	codeUnknownChannel = 10003
	codeUnknownMessage = 10008
	codeUnknownUser    = 10013
	codeUnknownEmoji   = 10014
	codeCannotDM       = 50007
	codeBotOnlyRoute   = 20001
)

// classify maps an error of discordgo to the sentinels of package bridge:
// what the bridge retries, bounces or reports as lost credentials.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		after := time.Second
		if rl.RateLimit != nil && rl.TooManyRequests != nil && rl.RetryAfter > 0 {
			after = rl.RetryAfter
		}
		return &bridge.RateLimitError{RetryAfter: after, Err: fmt.Errorf("discord: %s: %w", op, err)}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		code := 0
		if re.Message != nil {
			code = re.Message.Code
		}
		var kind error
		switch st := re.Response.StatusCode; {
		case st == http.StatusUnauthorized:
			kind = bridge.ErrAuth
		case code == codeUnknownChannel, code == codeUnknownMessage, code == codeUnknownUser, st == http.StatusNotFound:
			kind = bridge.ErrNotFound
		case code == codeUnknownEmoji, code == codeBotOnlyRoute:
			kind = bridge.ErrUnsupported
		case st == http.StatusForbidden:
			kind = bridge.ErrForbidden
		case st == http.StatusBadRequest:
			kind = bridge.ErrInvalidInput
		case st >= 500:
			kind = bridge.ErrTemporary
		default:
			kind = bridge.ErrTemporary
		}
		msg := ""
		if re.Message != nil {
			msg = re.Message.Message
		}
		return fmt.Errorf("discord: %s: HTTP %d %q (code %d): %w", op, re.Response.StatusCode, msg, code, kind)
	}
	if errors.Is(err, bridge.ErrAuth) || errors.Is(err, bridge.ErrTemporary) || errors.Is(err, bridge.ErrNotFound) ||
		errors.Is(err, bridge.ErrForbidden) || errors.Is(err, bridge.ErrUnsupported) || errors.Is(err, bridge.ErrInvalidInput) {
		return fmt.Errorf("discord: %s: %w", op, err)
	}
	// Transport failures, timeouts, undecodable answers: retried.
	return fmt.Errorf("discord: %s: %w: %w", op, bridge.ErrTemporary, err)
}
