package split

import (
	"cmp"
	"slices"
	"unicode/utf8"

	"github.com/xgate-im/xgate/kit/styling"
)

// Flags of a cut position p (a cut before text[p]).
const (
	inSpan    = 1 << iota // strictly inside a styling span
	inMention             // strictly inside a mention
	covered               // the byte text[p] belongs to a mention
	inMarkup              // inside a fence line or quotation markers, or just before a closing fence
)

// mention is a mention in bytes of the text.
type mention struct{ begin, end, index int }

// block is a preformatted block whose content may be cut.
type block struct {
	from      int    // End of the opening line: cuts in [from, to) are inside
	to        int    // End of the last content line
	open      string // the opening line with its "\n", to reopen the block
	closeText string // "\n" and the fence that closes the block
}

// splitter holds what Split knows about one text.
type splitter struct {
	text     string
	maxRunes int
	doc      *styling.Document
	runeAt   []int32 // rune index of each byte offset, -1 inside a rune
	byteAt   []int32 // byte offset of each rune index
	flags    []uint8 // per cut position
	pre      []int32 // per cut position: index+1 of the block it is inside
	blocks   []block
	mentions []mention // ordered by begin
	// nextMention is the first mention that may lie in the next part.
	nextMention int
}

func newSplitter(text string, maxRunes int, ranges []Range) *splitter {
	s := &splitter{text: text, maxRunes: maxRunes, doc: styling.Parse(text)}
	s.runeAt = make([]int32, len(text)+1)
	s.byteAt = make([]int32, 0, len(text)+1)
	for i := range s.runeAt {
		s.runeAt[i] = -1
	}
	for i := 0; i < len(text); {
		s.runeAt[i] = int32(len(s.byteAt))
		s.byteAt = append(s.byteAt, int32(i))
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	s.runeAt[len(text)] = int32(len(s.byteAt))
	s.byteAt = append(s.byteAt, int32(len(text)))

	s.flags = make([]uint8, len(text)+1)
	s.pre = make([]int32, len(text)+1)
	total := len(s.byteAt) - 1
	for i, r := range ranges {
		if r.Begin < 0 || r.Begin >= r.End || r.End > total {
			continue
		}
		m := mention{begin: int(s.byteAt[r.Begin]), end: int(s.byteAt[r.End]), index: i}
		s.mentions = append(s.mentions, m)
		s.mark(m.begin+1, m.end, inMention)
		s.mark(m.begin, m.end, covered)
	}
	slices.SortStableFunc(s.mentions, func(a, b mention) int { return cmp.Compare(a.begin, b.begin) })
	s.markLines()
	return s
}

// mark sets f on the cut positions [from, to).
func (s *splitter) mark(from, to int, f uint8) {
	for p := from; p < to; p++ {
		s.flags[p] |= f
	}
}

// markLines flags spans, markup and preformatted blocks.
func (s *splitter) markLines() {
	lines := s.doc.Lines
	for i := 0; i < len(lines); i++ {
		l := &lines[i]
		if l.Depth > 0 {
			s.mark(l.Start+1, l.Body+1, inMarkup)
		}
		for _, sp := range l.Spans {
			s.mark(sp.Start+1, sp.End, inSpan)
		}
		if l.Kind != styling.PreOpen {
			continue
		}
		s.mark(l.Start+1, l.End, inMarkup)
		j := i + 1
		for j < len(lines) && lines[j].Kind == styling.PreText {
			j++
		}
		to := lines[j-1].End
		if l.Closed {
			c := &lines[j]
			s.mark(c.Start-1, c.End, inMarkup)
		}
		prefix := s.text[l.Start:l.Body]
		s.blocks = append(s.blocks, block{
			from: l.End, to: to,
			open:      s.text[l.Start:l.End] + "\n",
			closeText: "\n" + prefix + styling.Fence,
		})
		for p := l.End; p < to; p++ {
			s.pre[p] = int32(len(s.blocks))
		}
		i = j - 1
	}
}

// cut is where a part ends (end), where the next starts (next), and what
// is added to close this part (tail) and open the next (head).
type cut struct {
	end, next  int
	head, tail string
	level      int
}

// bestCut finds the cut for the part starting at start that may hold
// budget runes of text and tail.
func (s *splitter) bestCut(start, budget int) cut {
	w := len(s.text)
	if target := int(s.runeAt[start]) + budget; target < len(s.byteAt) {
		w = int(s.byteAt[target])
	}
	// Level 0 is a level-1 cut at a line end in the second half of the
	// window: a part ends with a line rather than a word when it can.
	half := start + (w-start)/2
	for level := 0; level <= 4; level++ {
		for p := w; p > start; p-- {
			if level == 0 && (p < half || s.text[p] != '\n') {
				continue
			}
			if s.runeAt[p] < 0 || !s.allowed(p, max(level, 1)) {
				continue
			}
			c := s.cutAt(start, p)
			if c.end > start && s.runes(start, c.end)+utf8.RuneCountInString(c.tail) <= budget {
				c.level = max(level, 1)
				return c
			}
		}
	}
	// Nothing fits with its markup (a tiny maxRunes): one rune, bare.
	_, size := utf8.DecodeRuneInString(s.text[start:])
	return cut{end: start + size, next: start + size, level: 5}
}

// allowed reports whether a cut at p is of the given level (see the
// package documentation).
func (s *splitter) allowed(p, level int) bool {
	f := s.flags[p]
	switch level {
	case 4:
		return true
	case 3:
		return f&(inMention|inMarkup) == 0
	}
	if f&inMention != 0 {
		return false
	}
	if b := s.pre[p]; b != 0 {
		if p == s.blocks[b-1].from {
			return false
		}
		if level == 1 {
			return s.text[p] == '\n'
		}
		return s.spaceAt(p)
	}
	if f&inMarkup != 0 || level == 1 && f&inSpan != 0 {
		return false
	}
	return s.spaceAt(p)
}

func (s *splitter) spaceAt(p int) bool {
	r, _ := utf8.DecodeRuneInString(s.text[p:])
	return styling.IsSpace(r)
}

// cutAt works out the cut at p.
func (s *splitter) cutAt(start, p int) cut {
	if b := s.pre[p]; b != 0 {
		blk := &s.blocks[b-1]
		c := cut{end: p, next: p, head: blk.open, tail: blk.closeText}
		if s.text[p] == '\n' && s.flags[p]&covered == 0 {
			c.next = p + 1 // the line break goes, unless a mention holds it
		}
		line := s.lineAt(c.next)
		if c.next > line.Start {
			c.head += s.text[line.Start:min(line.Body, c.next)]
		}
		if !s.fits(c.head, c.tail) {
			c.head, c.tail = "", ""
		}
		return c
	}
	e := p
	for e > start {
		r, size := utf8.DecodeLastRuneInString(s.text[start:e])
		if !styling.IsSpace(r) || s.flags[e-size]&covered != 0 || s.pre[e-size] != 0 {
			break
		}
		e -= size
	}
	q, lastNL := e, -1
	for q < len(s.text) {
		r, size := utf8.DecodeRuneInString(s.text[q:])
		if !styling.IsSpace(r) || s.flags[q]&covered != 0 || s.pre[q] != 0 {
			break
		}
		if r == '\n' {
			lastNL = q
		}
		q += size
	}
	if q < len(s.text) && lastNL >= 0 {
		q = lastNL + 1 // keep the next line's indentation
	}
	c := cut{end: e, next: q}
	if line := s.lineAt(q); q > line.Start && q >= line.Body && line.Depth > 0 && line.Kind == styling.Plain {
		c.head = s.text[line.Start:line.Body]
	}
	if s.flags[p]&inSpan != 0 {
		open, closing := s.reopen(p, e, q)
		c.head += open
		c.tail = closing
	}
	if !s.fits(c.head, c.tail) {
		c.head, c.tail = "", ""
	}
	return c
}

// reopen returns the directives that close, at e, the spans a cut at p
// falls in, and reopen them at q, so that both parts stay styled; or
// nothing when a part would hold an empty or badly bounded span.
func (s *splitter) reopen(p, e, q int) (open, closing string) {
	line := s.lineAt(p)
	var outer []styling.Span
	for _, sp := range line.Spans {
		if sp.Start >= p {
			break
		}
		if p < sp.End {
			if e <= sp.Start+1 || q >= sp.End-1 {
				return "", ""
			}
			outer = append(outer, sp)
		}
	}
	if r, _ := utf8.DecodeLastRuneInString(s.text[:e]); styling.IsSpace(r) {
		return "", ""
	}
	if r, _ := utf8.DecodeRuneInString(s.text[q:]); styling.IsSpace(r) {
		return "", ""
	}
	b := make([]byte, 0, 2*len(outer))
	for _, sp := range outer {
		b = append(b, sp.Style.Directive())
	}
	open = string(b)
	slices.Reverse(b)
	return open, string(b)
}

// fits reports whether a part with these additions still holds a rune.
func (s *splitter) fits(head, tail string) bool {
	return utf8.RuneCountInString(head)+utf8.RuneCountInString(tail) < s.maxRunes
}

// lineAt returns the line holding byte offset q (the last line for the
// end of the text).
func (s *splitter) lineAt(q int) *styling.Line {
	lines := s.doc.Lines
	lo, hi := 0, len(lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if lines[mid].Start <= q {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return &lines[lo]
}
