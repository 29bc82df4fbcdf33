package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// Errors of this package. Failures of the Slack API are classified with the
// bridge's sentinels instead (see classify).
var (
	// ErrBadID: a string is not a Slack ID of the expected kind, or not one
	// of this package's account, user or contact forms.
	ErrBadID = errors.New("slack: malformed ID")
	// ErrConfig: the transport's configuration is invalid.
	ErrConfig = errors.New("slack: invalid configuration")
)

// Slack error codes by what they mean for the bridge. Codes not listed are
// permanent failures of that one request.
var errorCodes = map[string]error{
	// The token no longer works: the account is logged out.
	"invalid_auth":     bridge.ErrAuth,
	"not_authed":       bridge.ErrAuth,
	"token_revoked":    bridge.ErrAuth,
	"token_expired":    bridge.ErrAuth,
	"account_inactive": bridge.ErrAuth,
	"no_permission":    bridge.ErrForbidden,
	"missing_scope":    bridge.ErrForbidden,
	// The target does not exist (or is not visible to the account).
	"channel_not_found": bridge.ErrNotFound,
	"user_not_found":    bridge.ErrNotFound,
	"users_not_found":   bridge.ErrNotFound,
	"message_not_found": bridge.ErrNotFound,
	"thread_not_found":  bridge.ErrNotFound,
	"team_not_found":    bridge.ErrNotFound,
	"bot_not_found":     bridge.ErrNotFound,
	"file_not_found":    bridge.ErrNotFound,
	// The account may not do this.
	"not_in_channel":                        bridge.ErrForbidden,
	"is_archived":                           bridge.ErrForbidden,
	"channel_is_archived":                   bridge.ErrForbidden,
	"cant_update_message":                   bridge.ErrForbidden,
	"cant_delete_message":                   bridge.ErrForbidden,
	"edit_window_closed":                    bridge.ErrForbidden,
	"restricted_action":                     bridge.ErrForbidden,
	"user_disabled":                         bridge.ErrForbidden,
	"cannot_dm_bot":                         bridge.ErrForbidden,
	"not_allowed_token_type":                bridge.ErrForbidden,
	"ekm_access_denied":                     bridge.ErrForbidden,
	"access_denied":                         bridge.ErrForbidden,
	"method_not_supported_for_channel_type": bridge.ErrForbidden,
	"not_admin":                             bridge.ErrForbidden,
	"cannot_update_admin_user":              bridge.ErrForbidden,
	"cant_leave_general":                    bridge.ErrForbidden,
	"last_member":                           bridge.ErrForbidden,
	// What was sent is not acceptable.
	"msg_too_long":         bridge.ErrInvalidInput,
	"no_text":              bridge.ErrInvalidInput,
	"too_many_attachments": bridge.ErrInvalidInput,
	"invalid_blocks":       bridge.ErrInvalidInput,
	"invalid_name":         bridge.ErrInvalidInput,
	"too_many_users":       bridge.ErrInvalidInput,
	"invalid_arguments":    bridge.ErrInvalidInput,
	"invalid_arg_name":     bridge.ErrInvalidInput,
	"invalid_thread_ts":    bridge.ErrInvalidInput,
	"invalid_presence":     bridge.ErrInvalidInput,
	"invalid_profile":      bridge.ErrInvalidInput,
	"invalid_emoji":        bridge.ErrInvalidInput,
	"too_long":             bridge.ErrInvalidInput,
	"too_many_reactions":   bridge.ErrInvalidInput,
	// Slack is having trouble; try again.
	"internal_error":      bridge.ErrTemporary,
	"fatal_error":         bridge.ErrTemporary,
	"service_unavailable": bridge.ErrTemporary,
	"request_timeout":     bridge.ErrTemporary,
	"team_added_to_org":   bridge.ErrTemporary,
	// This Slack does not know the method.
	"unknown_method":    bridge.ErrUnsupported,
	"method_deprecated": bridge.ErrUnsupported,
}

// authReasons says in words why a token stopped working, for the user.
var authReasons = map[string]string{
	"invalid_auth":     "Slack does not accept the token (invalid_auth)",
	"not_authed":       "no token was given (not_authed)",
	"token_revoked":    "the token was revoked in Slack (token_revoked)",
	"token_expired":    "the token expired (token_expired)",
	"account_inactive": "the Slack account is deactivated (account_inactive)",
}

// classify turns an error of slack-go into one the bridge understands,
// keeping the original in the chain: rate limits become
// *bridge.RateLimitError, Slack error codes the sentinels of errorCodes,
// transport failures bridge.ErrTemporary. op names the method for the
// message ("chat.postMessage"). Context errors are returned as they are.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("slack: %s: %w", op, err)
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return &bridge.RateLimitError{RetryAfter: rl.RetryAfter, Err: fmt.Errorf("slack: %s: %w", op, err)}
	}
	if se, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case se.Code == http.StatusTooManyRequests:
			return &bridge.RateLimitError{Err: fmt.Errorf("slack: %s: %w", op, err)}
		case se.Code >= 500 || se.Code == http.StatusRequestTimeout:
			return fmt.Errorf("slack: %s: %w: %w", op, err, bridge.ErrTemporary)
		}
		return fmt.Errorf("slack: %s: %w", op, err)
	}
	if code, ok := errorCode(err); ok {
		if code == "ratelimited" || code == "rate_limited" {
			return &bridge.RateLimitError{Err: fmt.Errorf("slack: %s: %w", op, err)}
		}
		if _, ok := authReasons[code]; ok {
			return fmt.Errorf("slack: %s: %w", op, &authError{code})
		}
		if sentinel, ok := errorCodes[code]; ok {
			return fmt.Errorf("slack: %s: %s: %w", op, code, sentinel)
		}
		return fmt.Errorf("slack: %s: %w", op, err)
	}
	// Anything else failed on the way: DNS, connection, TLS, a truncated
	// or garbled answer. Worth another try.
	return fmt.Errorf("slack: %s: %w: %w", op, err, bridge.ErrTemporary)
}

// errorCode returns the Slack error code ("channel_not_found") of an error
// answer.
func errorCode(err error) (string, bool) {
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err != "" {
		return se.Err, true
	}
	if se, ok := errors.AsType[*slack.SlackErrorResponse](err); ok && se != nil && se.Err != "" {
		return se.Err, true
	}
	return "", false
}

// hasCode reports whether err is a Slack error answer with one of codes.
func hasCode(err error, codes ...string) bool {
	c, ok := errorCode(err)
	if !ok {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// authError is a token Slack refused; it matches bridge.ErrAuth.
type authError struct{ code string }

// Error says why in words, for the user.
func (e *authError) Error() string {
	if r, ok := authReasons[e.code]; ok {
		return r
	}
	return "Slack refused the token (" + e.code + ")"
}

// Is makes errors.Is(err, bridge.ErrAuth) true.
func (e *authError) Is(target error) bool { return target == bridge.ErrAuth }

// authReason returns the user-facing reason of an authentication failure,
// or "" when err is not one.
func authReason(err error) string {
	if ae, ok := errors.AsType[*authError](err); ok {
		return ae.Error()
	}
	if errors.Is(err, bridge.ErrAuth) {
		return "Slack refused the token"
	}
	return ""
}
