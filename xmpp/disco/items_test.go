package disco

import (
	"errors"
	"reflect"
	"testing"

	"github.com/xgate-im/xgate/xmpp/jid"
)

func TestItemsElement(t *testing.T) {
	its := &Items{Node: "rooms", Items: []Item{
		{JID: jid.MustParse("general@slack.example.org"), Name: "#general & more"},
		{JID: jid.MustParse("slack.example.org"), Node: "http://jabber.org/protocol/commands"},
	}}
	want := `<query xmlns="http://jabber.org/protocol/disco#items" node="rooms">` +
		`<item jid="general@slack.example.org" name="#general &amp; more"/>` +
		`<item jid="slack.example.org" node="http://jabber.org/protocol/commands"/></query>`
	if got := wire(its.Element()); got != want {
		t.Errorf("Element() =\n%s\nwant\n%s", got, want)
	}
	back, err := ParseItems(mustDecode(t, want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, its) {
		t.Errorf("round trip\n got: %#v\nwant: %#v", back, its)
	}
}

func TestParseItems(t *testing.T) {
	got, err := ParseItems(mustDecode(t, `<query xmlns='http://jabber.org/protocol/disco#items'>
  <item jid='Conference.Example.ORG' name='Rooms'/>
  <item jid='upload.example.org'/>
  <set xmlns='http://jabber.org/protocol/rsm'><item jid='ignored'/></set>
</query>`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Items{Items: []Item{
		{JID: jid.MustParse("conference.example.org"), Name: "Rooms"},
		{JID: jid.MustParse("upload.example.org")},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseItems\n got: %#v\nwant: %#v", got, want)
	}
	empty, err := ParseItems(mustDecode(t, `<query xmlns='http://jabber.org/protocol/disco#items' node='n'/>`))
	if err != nil || !reflect.DeepEqual(empty, &Items{Node: "n"}) {
		t.Errorf("empty result: %#v, %v", empty, err)
	}
}

func TestParseItemsErrors(t *testing.T) {
	tests := []struct {
		name, xml string
		alsoJID   bool
	}{
		{"info query", `<query xmlns='http://jabber.org/protocol/disco#info'/>`, false},
		{"item without jid", `<query xmlns='http://jabber.org/protocol/disco#items'><item name='x'/></query>`, true},
		{"malformed jid", `<query xmlns='http://jabber.org/protocol/disco#items'><item jid='a@b@c'/></query>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseItems(mustDecode(t, tt.xml))
			if err == nil {
				t.Fatalf("ParseItems succeeded: %#v", got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if tt.alsoJID && !errors.Is(err, jid.ErrMalformed) {
				t.Errorf("%v does not wrap jid.ErrMalformed", err)
			}
		})
	}
}
