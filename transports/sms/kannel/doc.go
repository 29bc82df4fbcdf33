// Package kannel is the SMS provider for a Kannel gateway (bearerbox +
// smsbox), which in turn reaches SMSCs over SMPP, UCP/EMI, CIMD or GSM
// modems.
//
// Toward phones, Send POSTs to smsbox's HTTP sendsms interface: the text
// as a UTF-8 body, the rest in X-Kannel headers (so neither the password
// nor the text is in a URL), coding 2 when the text needs UCS-2 (see
// package segment), and a dlr-mask with a dlr-url that carries the ID Send
// made up for the message (Kannel's sendsms answers no ID of its own) and
// the shared secret. Kannel splits long texts into concatenated parts itself
// (the sendsms-user's max-messages must allow them).
//
// From phones, smsbox calls the handler Webhook returns:
//
//	/mo   an sms-service's get-url, or its post-url (text in the body)
//	/dlr  the dlr-url of a sent message
//
// relative to where the bridge mounts it. Every callback must come from an
// allowed source address (Config.AllowedSources; loopback when empty) and
// carry the shared secret as the "secret" query parameter, else it is
// answered 403 and dropped. The get-url/post-url Kannel needs:
//
//	get-url = "https://gw.example.org/sms/kannel/TOKEN/mo?secret=S&id=%I&from=%p&to=%P&ts=%T&coding=%c&charset=%C&text=%a"
//
// (post-url: the same without text=%a). %I, Kannel's message UUID, is the
// Inbound ID the bridge suppresses duplicates with; the sms-service needs
// max-messages = 0 so the callback's answer is not texted back.
//
// Delivery report codes (dlr-mask bits and the %d of a dlr-url):
//
//	1  delivered to phone       → StatusDelivered
//	2  non-delivered to phone   → StatusUndelivered
//	4  queued on SMSC           → StatusQueued
//	8  delivered to SMSC (ACK)  → StatusSent
//	16 non-delivered to SMSC    → StatusFailed
//
// A long text sent as several parts may be reported once per part, with
// the same message ID; the bridge treats repeated statuses as duplicates.
//
// A Provider is safe for concurrent use; it keeps no state between calls.
package kannel
