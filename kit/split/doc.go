// Package split cuts a message that is too long for a network (its
// MaxMessageLength, in runes) into parts that each fit, keeping XEP-0393
// styling and mentions whole.
//
// It owns where a text may be cut, from best to worst:
//
//  1. at white space outside styling spans and mentions; inside a
//     preformatted block only at the end of a line;
//  2. at white space anywhere but inside a mention (a styling span is then
//     broken, or a preformatted line is wrapped);
//  3. between any two runes outside a mention (one word longer than a part);
//  4. between any two runes (a mention longer than a part; it is then
//     dropped from the parts' mentions).
//
// The latest cut of the best kind that fits is taken, except that a line
// end in the second half of a part is preferred to a later space. The white space at a
// cut is dropped (at a line end in a preformatted block, only the newline).
// A part that ends inside a preformatted block gets a closing fence, and
// the next one reopens the block with its opening line; a part that starts
// in the middle of a quoted line repeats the line's quotation markers; a
// cut inside styling spans closes them at the end of the part and reopens
// them at the start of the next ("*a b*" → "*a*", "*b*"). Those additions
// count towards the limit, and are left out when they would not leave room
// for text.
//
// Split is a pure function, safe for concurrent use; it runs in time
// linear in the text for any limit. The package imports nothing of xgate
// but kit/styling, so that bridge can use it.
package split
