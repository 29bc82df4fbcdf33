// Package playground serves a web page on loopback that shows the demo's
// fake networks as their people see them: pick an identity, read that
// person's conversations, and send messages, edits and reactions as them.
// What the gateway posts (the XMPP users' messages) appears live, pushed to
// the page as server-sent events.
//
// Each fake network is one Network; Slack's (over slackfake) is the first.
// Adding Discord or SMS is one more implementation of Network over its
// fake, and one more entry in the list given to New: the page lists every
// network it is given and knows nothing of any of them.
//
// The page is plain HTML and JavaScript embedded in the binary (web/),
// with no build step and no external asset. The HTTP API it uses:
//
//	GET  /api/networks                       [{id, name}]
//	GET  /api/{net}/people                   [{id, name, title}]
//	GET  /api/{net}/conversations?as=PERSON  [{id, name}]
//	GET  /api/{net}/messages?conv=CONV       [{id, author, authorName, text, edited, reactions}]
//	POST /api/{net}/send   {as, conv, text}
//	POST /api/{net}/edit   {as, conv, id, text}
//	POST /api/{net}/react  {as, conv, id, emoji}
//	GET  /api/events                         text/event-stream: "change" with the network's id
//
// Concurrency: a Server is safe for concurrent use; each event stream is
// served by its own request goroutine, which ends with the request.
package playground
