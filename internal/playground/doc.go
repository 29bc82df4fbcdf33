// Package playground serves a web page on loopback that shows the demo's
// fake networks as their people see them: pick an identity, read that
// person's conversations, and send messages, edits, reactions and typing
// as them (what the network has of these).
// What the gateway posts (the XMPP users' messages) appears live, pushed to
// the page as server-sent events.
//
// Each fake network is one Network: Slack (over slackfake), Discord (over
// discordfake) and SMS (over smsfake, where a person is a phone and a
// conversation a pair of numbers). A network whose people can show typing
// is also a Typer, one that sees others type a TypingViewer (Discord,
// whose Run keeps a Gateway session per person for that); one without
// edits or reactions is Limited. The page
// lists every network it is given, with what each can do, and knows
// nothing else of any of them.
//
// The page is plain HTML and JavaScript embedded in the binary (web/),
// with no build step and no external asset. The HTTP API it uses:
//
//	GET  /api/networks                       [{id, name, edits, reactions, typing}]
//	GET  /api/{net}/people                   [{id, name, title}]
//	GET  /api/{net}/conversations?as=PERSON  [{id, name}]
//	GET  /api/{net}/messages?conv=CONV       [{id, author, authorName, text, edited, reactions}]
//	POST /api/{net}/send   {as, conv, text}
//	POST /api/{net}/edit   {as, conv, id, text}
//	POST /api/{net}/react  {as, conv, id, emoji}
//	POST /api/{net}/typing {as, conv}
//	GET  /api/{net}/typing?conv=CONV         [name] of who else types there now
//	GET  /api/events                         text/event-stream: "change" with the network's id
//
// Concurrency: a Server is safe for concurrent use; each event stream is
// served by its own request goroutine, which ends with the request.
package playground
