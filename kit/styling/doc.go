// Package styling parses XEP-0393 message styling, the plain-text markup
// of XMPP message bodies, and renders it through a Renderer that each
// network supplies (Slack mrkdwn, Discord markdown, ...).
//
// It owns the reading of XEP-0393: a text is first cut into blocks, then
// the lines outside preformatted blocks into spans.
//
//   - A line starting with "```" opens a preformatted block, closed by a
//     line that is exactly "```" or by the end of the enclosing block; its
//     lines hold neither blocks nor spans.
//   - Consecutive lines starting with ">" form a quotation; each loses the
//     ">" and one following white space character, and what remains is
//     parsed again as blocks (quotations nest, and a preformatted block in
//     a quotation ends with it).
//   - Every other line is plain, and holds spans: *strong*, _emphasis_,
//     ~strike~ and `code`. An opening directive stands at the start of the
//     line or of its parent span (if it differs from the parent's), or
//     after white space, and is followed by neither white space nor itself;
//     the closing one is the first same character after it that follows a
//     non-space, with some text between the two. Spans never cross a line,
//     nest inside one another but not inside code, and are matched lazily
//     from the left.
//
// White space is XEP-0393's: Unicode White_Space or category Z. Offsets
// are byte offsets into the parsed text. Parsing is linear in the length
// of the text; the package has no state and is safe for concurrent use.
package styling
