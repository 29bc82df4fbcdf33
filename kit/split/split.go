package split

import (
	"cmp"
	"slices"
	"unicode/utf8"
)

// Range is a half-open range of runes (code points) of a text, as
// XEP-0372 references count them: a mention "@Name".
type Range struct {
	Begin, End int
}

// Mention is a mention given to Split, re-based to the part holding it.
type Mention struct {
	Range
	// Index is the mention's index in the slice given to Split.
	Index int
}

// Part is one part of a split text.
type Part struct {
	// Text is the part, at most maxRunes runes.
	Text string
	// Mentions are the mentions that lie whole in this part, ordered by
	// Begin, with Range counted in runes of Text.
	Mentions []Mention
	// head and tail are the bytes Split added at the start of Text
	// (reopened fence, quotation markers or span directives) and at its
	// end (closing fence or directives);
	// Text between them is the input's [from, to). level is the kind of the
	// cut that ends the part (0 for the last part, 5 for a forced cut).
	head, tail, from, to, level int
}

// Split cuts text into parts of at most maxRunes runes each (see the package
// documentation for where). mentions are rune ranges of text that must not
// be cut; invalid ones (out of text, empty) are ignored. A text that fits,
// or a maxRunes below 1, gives a single part holding text unchanged.
func Split(text string, maxRunes int, mentions []Range) []Part {
	total := utf8.RuneCountInString(text)
	if maxRunes < 1 || total <= maxRunes {
		p := Part{Text: text, to: len(text)}
		for i, m := range mentions {
			if m.Begin >= 0 && m.Begin < m.End && m.End <= total {
				p.Mentions = append(p.Mentions, Mention{Range: m, Index: i})
			}
		}
		slices.SortStableFunc(p.Mentions, func(a, b Mention) int { return cmp.Compare(a.Begin, b.Begin) })
		return []Part{p}
	}
	s := newSplitter(text, maxRunes, mentions)
	return s.run()
}

// run emits the parts.
func (s *splitter) run() []Part {
	var parts []Part
	start, head := 0, ""
	for start < len(s.text) {
		budget := s.maxRunes - utf8.RuneCountInString(head)
		if s.runes(start, len(s.text)) <= budget {
			parts = append(parts, s.part(head, start, len(s.text), ""))
			return parts
		}
		c := s.bestCut(start, budget)
		p := s.part(head, start, c.end, c.tail)
		p.level = c.level
		parts = append(parts, p)
		start, head = c.next, c.head
	}
	return parts
}

// part builds the part text[start:end] with the additions.
func (s *splitter) part(head string, start, end int, tail string) Part {
	p := Part{Text: head + s.text[start:end] + tail, head: len(head), tail: len(tail), from: start, to: end}
	hr := utf8.RuneCountInString(head)
	for s.nextMention < len(s.mentions) && s.mentions[s.nextMention].begin < start {
		s.nextMention++
	}
	for _, m := range s.mentions[s.nextMention:] {
		if m.begin >= end {
			break
		}
		if m.end <= end {
			b := hr + s.runes(start, m.begin)
			p.Mentions = append(p.Mentions, Mention{Range: Range{Begin: b, End: b + s.runes(m.begin, m.end)}, Index: m.index})
		}
	}
	return p
}

// runes counts the runes of text[i:j], both rune boundaries.
func (s *splitter) runes(i, j int) int { return int(s.runeAt[j] - s.runeAt[i]) }
