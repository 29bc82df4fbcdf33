package twilio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/transports/sms/provider"
)

const name = "twilio"

// ErrNotOwned: the phone number is not one of the account's
// (CheckNumber).
var ErrNotOwned = errors.New("twilio: the number is not one of the account's")

// codeClass is what a Twilio error code means for the bridge.
type codeClass struct {
	kind   provider.Kind
	reason provider.Reason
}

// errorCodes maps Twilio error codes (API errors and the ErrorCode of
// status callbacks) to classes. Codes not listed follow the HTTP status.
var errorCodes = map[int]codeClass{
	// Numbers that cannot receive texts.
	21211: {provider.Permanent, provider.ReasonInvalidNumber}, // invalid 'To' number
	21214: {provider.Permanent, provider.ReasonInvalidNumber}, // 'To' cannot be reached
	21217: {provider.Permanent, provider.ReasonInvalidNumber}, // number does not appear valid
	21401: {provider.Permanent, provider.ReasonInvalidNumber}, // invalid phone number
	21407: {provider.Permanent, provider.ReasonInvalidNumber}, // number type not supported
	21614: {provider.Permanent, provider.ReasonInvalidNumber}, // 'To' is not a mobile number
	30005: {provider.Permanent, provider.ReasonInvalidNumber}, // unknown destination handset
	30006: {provider.Permanent, provider.ReasonInvalidNumber}, // landline or unreachable carrier
	// The recipient said STOP.
	21610: {provider.Permanent, provider.ReasonOptedOut},
	// Blocked by Twilio, the carrier or account settings.
	21408: {provider.Permanent, provider.ReasonBlocked}, // region not enabled
	21612: {provider.Permanent, provider.ReasonBlocked}, // cannot route between these numbers
	30004: {provider.Permanent, provider.ReasonBlocked}, // message blocked
	30007: {provider.Permanent, provider.ReasonBlocked}, // carrier filtering
	30032: {provider.Permanent, provider.ReasonBlocked}, // toll-free number not verified
	30034: {provider.Permanent, provider.ReasonBlocked}, // unregistered 10DLC number
	// Credentials.
	20003: {provider.Permanent, provider.ReasonUnauthorized},
	// Rate limits.
	20429: {provider.RateLimited, provider.ReasonOther},
	14107: {provider.RateLimited, provider.ReasonOther},
	30022: {provider.RateLimited, provider.ReasonOther},
	// Temporary delivery trouble.
	30001: {provider.Temporary, provider.ReasonOther}, // queue overflow
	30003: {provider.Permanent, provider.ReasonOther}, // unreachable handset
	30008: {provider.Permanent, provider.ReasonOther}, // unknown error
}

// apiError is Twilio's JSON error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// classifyResponse turns a non-2xx answer into a *provider.Error.
func classifyResponse(resp *http.Response, body []byte) *provider.Error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	e := classifyCode(ae.Code, ae.Message)
	if ae.Code == 0 || !known(ae.Code) {
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			e.Kind, e.Reason = provider.RateLimited, provider.ReasonOther
		case resp.StatusCode == http.StatusUnauthorized:
			e.Kind, e.Reason = provider.Permanent, provider.ReasonUnauthorized
		case resp.StatusCode >= 500:
			e.Kind, e.Reason = provider.Temporary, provider.ReasonOther
		default:
			e.Kind, e.Reason = provider.Permanent, provider.ReasonRejected
		}
	}
	if e.Code == "" {
		e.Code = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if e.Kind == provider.RateLimited {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	}
	return e
}

// classifyCode classifies a Twilio error code (0: none) with its message.
func classifyCode(code int, message string) *provider.Error {
	e := &provider.Error{Provider: name, Kind: provider.Permanent, Reason: provider.ReasonOther, Message: message}
	if code != 0 {
		e.Code = strconv.Itoa(code)
	}
	if c, ok := errorCodes[code]; ok {
		e.Kind, e.Reason = c.kind, c.reason
	}
	return e
}

func known(code int) bool {
	_, ok := errorCodes[code]
	return ok
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
