package styling

import (
	"strings"
	"testing"
)

// copyRenderer writes back the source text, so that Render(Parse(s))
// must give s.
type copyRenderer struct {
	b     strings.Builder
	lines int
}

func (r *copyRenderer) line(d *Document, l *Line) {
	if r.lines > 0 {
		r.b.WriteByte('\n')
	}
	r.lines++
	r.b.WriteString(d.Text[l.Start:l.Body])
}
func (r *copyRenderer) StartLine(d *Document, l *Line)         { r.line(d, l) }
func (r *copyRenderer) Plain(d *Document, l *Line, lo, hi int) { r.b.WriteString(d.Text[lo:hi]) }
func (r *copyRenderer) Directive(d *Document, s *Span, _ bool) { r.b.WriteByte(s.Style.Directive()) }
func (r *copyRenderer) Code(d *Document, s *Span)              { r.b.WriteString(d.Text[s.Start+1 : s.End-1]) }
func (r *copyRenderer) PreBlock(d *Document, lines []Line) {
	for i := range lines {
		r.line(d, &lines[i])
		r.b.WriteString(d.Text[lines[i].Body:lines[i].End])
	}
}

// FuzzParse checks the structure of any parse: lines tile the text,
// spans sit inside their line's body with directives at both ends and
// nest properly, only plain lines have spans, and rendering the parse
// back gives the text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "*strong* _em_ ~st~ `code`", "> q\n>> n\n```\npre\n```", "*a *b* c*", "*`x`*", "_*a*_",
		"> ```\n> x\nplain", "```go\n*x*", "\xff*a*\xfe", "a\u00a0*b*\u3000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d := Parse(text)
		if d.Text != text || len(d.Lines) != strings.Count(text, "\n")+1 {
			t.Fatalf("%d lines for %q", len(d.Lines), text)
		}
		next := 0
		for i, l := range d.Lines {
			if l.Start != next || l.Start > l.Body || l.Body > l.End || l.End > len(text) || (l.End < len(text) && text[l.End] != '\n') {
				t.Fatalf("line %d %+v does not tile %q", i, l, text)
			}
			next = l.End + 1
			if l.Kind != Plain && len(l.Spans) > 0 {
				t.Fatalf("line %d of kind %d has spans", i, l.Kind)
			}
			if l.Kind == PreText && (i == 0 || d.Lines[i-1].Kind != PreOpen && d.Lines[i-1].Kind != PreText) {
				t.Fatalf("line %d is pre text outside a block in %q", i, text)
			}
			checkSpans(t, text, l)
		}
		var r copyRenderer
		Render(d, &r)
		if r.b.String() != text {
			t.Fatalf("rendered back %q, want %q", r.b.String(), text)
		}
	})
}

func checkSpans(t *testing.T, text string, l Line) {
	t.Helper()
	var open []Span // the spans enclosing the current one
	for _, s := range l.Spans {
		if s.Start < l.Body || s.End > l.End || s.End-s.Start < 3 {
			t.Fatalf("span %+v outside line %+v or empty", s, l)
		}
		if text[s.Start] != s.Style.Directive() || text[s.End-1] != s.Style.Directive() {
			t.Fatalf("span %+v lacks its directives in %q", s, text)
		}
		for len(open) > 0 && open[len(open)-1].End <= s.Start {
			open = open[:len(open)-1]
		}
		if len(open) > 0 {
			p := open[len(open)-1]
			if s.End > p.End-1 || s.Start <= p.Start || p.Style == Code {
				t.Fatalf("span %+v badly nested in %+v in %q", s, p, text)
			}
		}
		open = append(open, s)
	}
}
