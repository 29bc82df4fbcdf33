// Package smsfake is a fake of Twilio's Programmable Messaging API for
// tests, the demo and benchmarks: one Server per test, on loopback,
// speaking the real wire protocol (form-encoded requests with HTTP Basic
// auth, JSON Message resources, signed form-encoded webhooks).
//
// What it does:
//
//   - POST /2010-04-01/Accounts/{AccountSid}/Messages.json creates a
//     message, records it and answers 201 with a realistic Message
//     resource (SM… or MM… SID, num_segments from the GSM-7/UCS-2 rules),
//     then sends signed status callbacks (by default "sent" then
//     "delivered") to its StatusCallback, in order, from one goroutine.
//   - GET …/Messages/{Sid}.json returns a recorded message, and
//     GET …/Messages/{MessageSid}/Media/{Sid} serves inbound media (Basic
//     auth required, as at Twilio).
//   - SendInbound posts a signed incoming-message webhook (with media
//     URLs served by the fake) to Options.InboundURL.
//   - Options.AutoReply makes numbers answer each message with an inbound
//     text (the demo's SMS side).
//   - Faults: FailNext answers the next requests with an HTTP status,
//     Twilio error code and Retry-After; FailTo refuses every message to
//     a number (e.g. 21610, opted out); FailDelivery accepts messages to a
//     number but reports them undelivered with an error code.
//   - Every request is checked against Twilio's official API description
//     when Options.Contract is set; departures are kept (Violations) and
//     answered 400, so a test fails on any violation.
//   - Inspection: Messages, WaitMessages, Callbacks; and over HTTP
//     GET /fake/messages (JSON) and POST /fake/inbound (From, To, Body) for
//     other processes such as the demo.
//
// The fake's signing is written independently of package twilio's, so
// each checks the other. A Server is safe for concurrent use; Close stops
// its listener and its webhook goroutine and waits for them.
package smsfake
