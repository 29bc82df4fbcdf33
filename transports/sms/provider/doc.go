// Package provider defines what an SMS provider implements for the SMS
// transport, and the types that cross between them: outgoing texts,
// incoming texts, delivery reports and classified send errors.
//
// A provider is one account at one SMS service (a Kannel gateway, a Twilio
// account, a Twilio-compatible service). It does two things:
//
//   - toward the network, Send hands one text or MMS to the service and
//     returns the service's message ID, or an *Error saying whether trying
//     again can help (Temporary, RateLimited with a delay) or not
//     (Permanent, with a Reason such as an invalid number or a recipient
//     who texted STOP);
//   - from the network, Webhook returns an http.Handler that the bridge
//     mounts on its own HTTP listener under a path of its choosing
//     (stripping that prefix). The handler verifies the request the
//     provider's way (signatures, shared secrets), parses it into an
//     Inbound or a DeliveryReport and hands it to the Sink. It answers 2xx
//     only after the Sink returned nil, that is after the message is
//     stored, so a crash never loses a text: the service retries. Forged
//     or malformed requests get 4xx and never reach the Sink.
//
// Providers do not log message contents or credentials, keep no state that
// must survive a restart (the bridge stores messages and maps IDs), and
// are safe for concurrent use: the bridge may call Send from several
// goroutines while webhooks arrive.
//
// # Adding a provider
//
// A new service (Telnyx, Plivo, Vonage, Bandwidth, an Android phone
// gateway with a local HTTP API) gets its own package under
// transports/sms/ with a Config (Validate() error), a constructor doing no
// I/O, and a type implementing Provider:
//
//   - Send maps Outbound to the service's request: JSON or form, its auth
//     header, the status callback URL from Outbound.StatusCallback; it maps
//     the service's error codes with NewError, keeping the code in
//     Error.Code. A gateway without message IDs (Kannel, many phone apps)
//     generates its own ID and carries it in the callback URL.
//   - Webhook verifies what the service signs (Telnyx: Ed25519 over
//     timestamp and body; Vonage: JWT or a signature parameter; Bandwidth:
//     Basic auth; a phone gateway: a shared secret) and maps the service's
//     statuses onto Status.
//   - Capabilities says whether it carries MMS, whether it concatenates
//     long texts itself, and whether it reports delivery.
//   - A service that serves inbound media behind credentials implements
//     MediaFetcher so the bridge can re-host the media.
//   - A gateway that must be polled or holds a connection (an Android
//     phone's local API, a modem) implements Runner; its Webhook may then
//     return a handler that answers 404.
//
// Its tests run the conformance suite, providertest.Run, against the
// service's fake (as twilio does with smsfake) or a real gateway (as
// kannel does with kanneltest). The transport then gets one line in its
// table of provider kinds; nothing else changes.
package provider
