// Package sms is the SMS transport: XMPP users text phone numbers and
// receive texts, through a Kannel gateway or a Twilio-compatible REST
// provider (package provider and its implementations).
//
// # Numbers and JIDs
//
// A contact is a phone number in the JMP/Cheogram form, the E.164 number
// with its "+" as localpart ("+15551234567@sms.example.org"), or the bare
// digits of a short code of the default region ("12345@sms.example.org").
// What a user types (national format in Config.DefaultRegion, separators,
// "00" prefixes, tel: URIs) is normalized by package phone; XEP-0100
// (ResolveContact) turns it into the contact, and an impossible number is
// answered with a not-acceptable error that says why.
//
// # Who owns which number
//
// An account is one provider number. Its AccountID is the number for an
// assigned number, and the number with the account's webhook hook
// ("+15551234567~HOOK") for a user's own account, so that two users who
// register the same number never share an account. Numbers come two ways:
//
//   - assigned by the administrator, in the configuration ([[sms.numbers]]:
//     number, user, contacts; Assignments lists them for cmd/xgate to
//     provision as accounts of their users at start) or with the admin
//     commands sms-assign, sms-unassign and sms-numbers (admin.go, stored
//     in the gateway's records); they send through the instance's
//     provider, and Login refuses a number that is no longer assigned;
//   - registered by a user with their own Twilio-compatible credentials
//     (Config.UserCredentials): account SID, auth token and number, checked
//     with the provider at registration. The account's webhooks are
//     served under /NAME/a/HOOK/ (HOOK is random, made at registration).
//
// A text to a number nobody is logged in with waits (the webhook is answered
// 503 and the provider sends it again) while an account of that number is
// registered and logging in; a text to a number no account has is kept in
// the gateway's records, logged, counted (Stats) and reported to the
// admins, and passed on when the number is assigned (admin.go).
//
// # Delivery
//
// Incoming texts and delivery reports go through one bridge.Fanout keyed
// by conversation; a webhook is answered 2xx only once the Sink stored the
// event, and the same provider message ID delivered twice is passed on
// once. Delivery reports may arrive before Send returned the message's ID
// (Kannel): reports for unknown IDs are kept for ReportWait and applied
// when the ID appears; a message never moves back from a final status.
// The texts awaiting reports are stored in the gateway's records
// (records.go), so reports after a restart find them. The transport
// declares bridge.Capabilities.DeliveryReports: the bridge sends receipts
// on Delivered and late failures to the sending client.
//
// Sessions are safe for concurrent use; the Transport owns no goroutine
// beyond those its Fanout runs for events being handled and those passing
// kept texts on after a login, which Run waits for.
package sms
