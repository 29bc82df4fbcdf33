package styling

import (
	"fmt"
	"strings"
	"testing"
)

// marks draws the spans of a one-line text: o and c at opening and
// closing directives, p inside code spans, . elsewhere.
func marks(d *Document) string {
	b := []byte(strings.Repeat(".", len(d.Text)))
	for _, l := range d.Lines {
		for _, s := range l.Spans {
			b[s.Start], b[s.End-1] = 'o', 'c'
			if s.Style == Code {
				for i := s.Start + 1; i < s.End-1; i++ {
					b[i] = 'p'
				}
			}
		}
	}
	return string(b)
}

// TestSpans checks the span rules on the examples of XEP-0393 and on the
// edge cases of nesting and lazy matching.
func TestSpans(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*strong*", "o......c"},
		{"plain *strong* plain", "......o......c......"},
		{"*strong* plain *strong*", "o......c.......o......c"},
		{"*strong*plain*", "o......c......"},
		{"* plain *strong*", "........o......c"},
		{"not strong*", "..........."},
		{"*not strong", "..........."},
		{"*not *strong", "............"},
		{"**", ".."},
		{"****", "...."},
		{"This is `*monospace*`", "........opppppppppppc"},
		{"*`monospace and bold`*", "ooppppppppppppppppppcc"},
		{"_emphasized *strong*_", "o...........o......cc"},
		{"Everyone ~dis~likes cake.", ".........o...c..........."},
		{"*a *b* c*", "o....c..."},
		{"_a_b_", "o.c.."},
		{"2*3*4 snake_case", "................"},
		{"*é* ~ü~", "o..c.o..c"},
		{"* a*", "...."},
		{"*a *", "...."},
		{"**a*", "...."},
		{"*_a_*", "oo.cc"},
		{"**a** b", "......."},
		{"a\u00a0*b*", "...o.c"},       // U+00A0 (2 bytes) is white space
		{"*a\u3000*", "......"},        // and U+3000 too: no closing
		{"*a*\n*b", "o.c..."},          // spans never cross lines
		{"`a*b*c`", "opppppc"},         // no span inside code
		{"_*a*_ *_b_*", "oo.cc.oo.cc"}, // nesting both ways
		{"~*a* ~b~ c~", "oo.c...c..."}, // lazy: the first possible closer wins
	}
	for _, tt := range tests {
		d := Parse(tt.in)
		want := tt.want
		if got := marks(d); got != want {
			t.Errorf("Parse(%q) spans\n got %s\nwant %s", tt.in, got, want)
		}
	}
}

// lineSummary draws each line as depth:kind:body, with a ! on a closed
// PreOpen.
func lineSummary(d *Document) string {
	var b strings.Builder
	for i, l := range d.Lines {
		if i > 0 {
			b.WriteString(" | ")
		}
		k := [...]string{"plain", "open", "pre", "close"}[l.Kind]
		if l.Closed {
			k += "!"
		}
		fmt.Fprintf(&b, "%d:%s:%s", l.Depth, k, d.Text[l.Body:l.End])
	}
	return b.String()
}

func TestBlocks(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "0:plain:"},
		{"a\nb", "0:plain:a | 0:plain:b"},
		{"```go\nx := 1\n```\nafter", "0:open!:```go | 0:pre:x := 1 | 0:close:``` | 0:plain:after"},
		{"```\nnot closed\n> still pre", "0:open:``` | 0:pre:not closed | 0:pre:> still pre"},
		{"``` \n```x\n```", "0:open!:```  | 0:pre:```x | 0:close:```"},
		{"> q\n>> n\n>no space\nplain", "1:plain:q | 2:plain:n | 1:plain:no space | 0:plain:plain"},
		{">  two spaces", "1:plain: two spaces"},
		{"> ```\n> code\n\nplain", "1:open:``` | 1:pre:code | 0:plain: | 0:plain:plain"},
		{"> ```\n> code\n> ```\n> q", "1:open!:``` | 1:pre:code | 1:close:``` | 1:plain:q"},
		{"```\n> q\n```", "0:open!:``` | 0:pre:> q | 0:close:```"},
		{">\u2003em space", "1:plain:em space"},
		{"a ```x``` b", "0:plain:a ```x``` b"},
		{"text\n", "0:plain:text | 0:plain:"},
	}
	for _, tt := range tests {
		if got := lineSummary(Parse(tt.in)); got != tt.want {
			t.Errorf("Parse(%q) lines\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

// tagRenderer renders to a readable markup, for TestRender.
type tagRenderer struct{ b strings.Builder }

func (r *tagRenderer) StartLine(d *Document, l *Line) {
	if r.b.Len() > 0 {
		r.b.WriteByte('\n')
	}
	r.b.WriteString(strings.Repeat("Q", l.Depth))
	r.b.WriteByte('|')
}
func (r *tagRenderer) Plain(d *Document, l *Line, lo, hi int) { r.b.WriteString(d.Text[lo:hi]) }
func (r *tagRenderer) Directive(d *Document, s *Span, open bool) {
	tag := [...]string{"", "b", "i", "s", "tt"}[s.Style]
	if !open {
		tag = "/" + tag
	}
	r.b.WriteString("<" + tag + ">")
}
func (r *tagRenderer) Code(d *Document, s *Span) { r.b.WriteString(d.Text[s.Start+1 : s.End-1]) }
func (r *tagRenderer) PreBlock(d *Document, lines []Line) {
	for i, l := range lines {
		if r.b.Len() > 0 {
			r.b.WriteByte('\n')
		}
		switch {
		case i == 0:
			r.b.WriteString("<pre>")
		case l.Kind == PreClose:
			r.b.WriteString("</pre>")
		default:
			r.b.WriteString(d.Text[l.Body:l.End])
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*a* _b_ ~c~ `d`", "|<b>a</b> <i>b</i> <s>c</s> <tt>d</tt>"},
		{"x *y _z_ w* v", "|x <b>y <i>z</i> w</b> v"},
		{"*`mono and bold`*", "|<b><tt>mono and bold</tt></b>"},
		{"> *q*\n>> deep\nout", "Q|<b>q</b>\nQQ|deep\n|out"},
		{"```sh\nls *x*\n```\n_e_", "<pre>\nls *x*\n</pre>\n|<i>e</i>"},
		{"```\nopen", "<pre>\nopen"},
	}
	for _, tt := range tests {
		var r tagRenderer
		Render(Parse(tt.in), &r)
		if got := r.b.String(); got != tt.want {
			t.Errorf("Render(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
