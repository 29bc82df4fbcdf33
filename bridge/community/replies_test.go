package community

import (
	"fmt"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

func TestWithoutFallback(t *testing.T) {
	fb := func(start, end int) *xmpp.Element {
		return xmpp.NewElement(nsFallback, "fallback", "for", nsReply).Append(
			xmpp.NewElement("", "body", "start", fmt.Sprint(start), "end", fmt.Sprint(end)))
	}
	cases := []struct {
		name, body string
		extra      []*xmpp.Element
		want       string
	}{
		{"no fallback", "> quote\nanswer", nil, "> quote\nanswer"},
		{"quote", "> Carol: hé\nanswer", []*xmpp.Element{fb(0, 12)}, "answer"},
		{"bad range kept", "> q\nanswer", []*xmpp.Element{fb(0, 99)}, "> q\nanswer"},
		{"whole body", "only fallback", []*xmpp.Element{xmpp.NewElement(nsFallback, "fallback", "for", nsReply)}, ""},
		{"other fallback kept", "> q\nanswer", []*xmpp.Element{xmpp.NewElement(nsFallback, "fallback", "for", nsRetract).Append(
			xmpp.NewElement("", "body", "start", "0", "end", "4"))}, "> q\nanswer"},
	}
	for _, tc := range cases {
		if got := withoutFallback(tc.body, tc.extra); got != tc.want {
			t.Errorf("%s: withoutFallback = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestQuotesRing(t *testing.T) {
	var q quotes
	for i := range maxQuotes + 10 {
		q.put(fmt.Sprint(i), quote{text: fmt.Sprint(i)})
	}
	if _, ok := q.get("9"); ok {
		t.Error("an old message is still kept")
	}
	if v, ok := q.get(fmt.Sprint(maxQuotes + 9)); !ok || v.text != fmt.Sprint(maxQuotes+9) {
		t.Errorf("the last message: %v %v", v, ok)
	}
	q.setNick("10", "carol")
	q.put("10", quote{text: "edited"})
	if v, _ := q.get("10"); v.nick != "carol" || v.text != "edited" {
		t.Errorf("after an update: %+v", v)
	}
	if len(q.byG) != maxQuotes {
		t.Errorf("%d kept, want %d", len(q.byG), maxQuotes)
	}
}
