package styling

import "unicode/utf8"

// spans returns the spans of the plain line body, which starts at offset
// in the Document's text.
func (p *parser) spans(body string, offset int) []Span {
	p.closers = [4][]int32{}
	var out []Span
	p.spansIn(body, 0, len(body), 0, offset, &out)
	return out
}

// spansIn appends the spans of body[lo:hi], the content of a span of style
// parent (0 for the whole line).
func (p *parser) spansIn(body string, lo, hi int, parent Style, offset int, out *[]Span) {
	for i := lo; i < hi; i++ {
		st := styleOf(body[i])
		if st == 0 || !canOpen(body, lo, i, hi, parent) {
			continue
		}
		next := p.closers[st-1]
		if next == nil {
			next = closersOf(body, body[i])
			p.closers[st-1] = next
		}
		k := int(next[i+2]) // canOpen ensures i+2 <= hi
		if k < 0 || k >= hi {
			continue
		}
		*out = append(*out, Span{Style: st, Start: offset + i, End: offset + k + 1})
		if st != Code {
			p.spansIn(body, i+1, k, st, offset, out)
		}
		i = k
	}
}

// canOpen reports whether the directive at body[i] may open a span inside
// body[lo:hi], whose parent span has style parent.
func canOpen(body string, lo, i, hi int, parent Style) bool {
	ch := body[i]
	if i+1 >= hi || body[i+1] == ch {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(body[i+1 : hi]); IsSpace(r) {
		return false
	}
	if i == lo {
		return styleOf(ch) != parent
	}
	r, _ := utf8.DecodeLastRuneInString(body[lo:i])
	return IsSpace(r)
}

// closersOf returns, for every index q of body, the first index k >= q
// where ch could close a span (it follows a non-space), or -1. It makes
// the lazy matching linear.
func closersOf(body string, ch byte) []int32 {
	next := make([]int32, len(body)+1)
	next[len(body)] = -1
	for k := len(body) - 1; k >= 0; k-- {
		next[k] = next[k+1]
		if body[k] == ch && k > 0 {
			if r, _ := utf8.DecodeLastRuneInString(body[:k]); !IsSpace(r) {
				next[k] = int32(k)
			}
		}
	}
	return next
}
