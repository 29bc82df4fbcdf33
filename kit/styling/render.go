package styling

// Renderer writes a parsed Document in a network's syntax. Render calls
// its methods in the order of the text; offsets are into d.Text.
type Renderer interface {
	// StartLine starts a plain line, before the calls for its content.
	// d.Text[l.Start:l.Body] are its quotation markers.
	StartLine(d *Document, l *Line)
	// Plain writes d.Text[lo:hi], plain text of the current line that is
	// neither a directive nor inside a code span. The text around it can
	// be read in d.Text (a renderer may look at the whole line).
	Plain(d *Document, l *Line, lo, hi int)
	// Directive writes the opening (open) or closing directive of s.
	Directive(d *Document, s *Span, open bool)
	// Code writes the content of the code span s: d.Text[s.Start+1:s.End-1].
	Code(d *Document, s *Span)
	// PreBlock writes a preformatted block: its PreOpen line, its PreText
	// lines, and its PreClose line when lines[0].Closed.
	PreBlock(d *Document, lines []Line)
}

// Render walks d and calls r for each of its parts.
func Render(d *Document, r Renderer) {
	for i := 0; i < len(d.Lines); {
		l := &d.Lines[i]
		if l.Kind == PreOpen {
			j := i + 1
			for j < len(d.Lines) && d.Lines[j].Kind == PreText {
				j++
			}
			if l.Closed {
				j++
			}
			r.PreBlock(d, d.Lines[i:j])
			i = j
			continue
		}
		r.StartLine(d, l)
		renderSpans(d, l, r, l.Body, l.End, l.Spans)
		i++
	}
}

// renderSpans renders d.Text[lo:hi] of line l, whose spans are spans.
func renderSpans(d *Document, l *Line, r Renderer, lo, hi int, spans []Span) {
	pos := lo
	for k := 0; k < len(spans); {
		s := &spans[k]
		inner := k + 1
		for inner < len(spans) && spans[inner].Start < s.End {
			inner++
		}
		if pos < s.Start {
			r.Plain(d, l, pos, s.Start)
		}
		r.Directive(d, s, true)
		if s.Style == Code {
			r.Code(d, s)
		} else {
			renderSpans(d, l, r, s.Start+1, s.End-1, spans[k+1:inner])
		}
		r.Directive(d, s, false)
		pos = s.End
		k = inner
	}
	if pos < hi {
		r.Plain(d, l, pos, hi)
	}
}
