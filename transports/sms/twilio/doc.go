// Package twilio is the SMS provider for Twilio's Programmable Messaging
// REST API (2010-04-01) and the services that clone it: the base URL is
// configurable.
//
// Toward phones, Send POSTs a form (To, From, Body, MediaUrl…,
// StatusCallback, and MessagingServiceSid when configured) to {BaseURL}/2010-04-01/Accounts/{AccountSid}/Messages.json
// with HTTP Basic auth (AccountSid:AuthToken) and returns the Message SID.
// Every request it makes conforms to Twilio's official OpenAPI description
// (the tests check each one against it). Twilio concatenates long texts
// itself (up to 1600 characters) and sends MMS to MediaUrl.
//
// Failures are classified from Twilio's error codes: 21211, 21214, 21217,
// 21401, 21407, 21614 (invalid or non-mobile number) → invalid number;
// 21610 (the recipient texted STOP) → opted out; 21408, 21612, 30004, 30007
// and friends → blocked; 20003 → unauthorized; 429 or 20429 / 14107 /
// 30022 → rate limited with the Retry-After header's delay; 5xx and
// network errors → temporary; other 4xx → rejected.
//
// From phones, Twilio POSTs form-encoded webhooks to the handler Webhook
// returns:
//
//	/inbound  the number's "A message comes in" webhook
//	/status   status callbacks (the StatusCallback Send sets)
//
// relative to where the bridge mounts it. Each must carry a valid
// X-Twilio-Signature: base64(HMAC-SHA1(AuthToken, URL + the POST
// parameters sorted by name, each name followed by its value)), where URL
// is the public URL Twilio called: Config.PublicURL (as seen from
// Twilio, through any reverse proxy) + the path under the mount + the
// query (with or without the scheme's default port: Twilio has signed
// both). A missing or wrong signature is answered 403 and changes nothing;
// the comparison is constant-time. Signatures carry no timestamp, so a
// replayed request verifies: the bridge suppresses it by MessageSid (and
// status).
//
// Inbound MMS media are Twilio URLs that need the account's credentials;
// FetchMedia fetches them, sending credentials only to BaseURL's host.
//
// A Provider is safe for concurrent use.
package twilio
