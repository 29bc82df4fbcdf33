package store

import (
	"reflect"
	"testing"
	"time"
)

func TestRoster(t *testing.T) {
	db := openTestDB(t)
	asked := time.Date(2025, 3, 4, 5, 6, 7, 8, time.FixedZone("x", 3600))
	items := []RosterItem{
		{User: "alice@x", Transport: "slack", Contact: "u2@slack.x", Name: "Bob", Groups: []string{"Slack", "Work"}, Subscription: "both"},
		{User: "alice@x", Transport: "slack", Contact: "u1@slack.x", Subscription: "to", AskedAt: asked},
		{User: "alice@x", Transport: "slack", Contact: "u3@slack.x"}, // subscription "" is stored as none
		{User: "alice@xy", Transport: "slack", Contact: "u1@slack.x", Subscription: "from"},
		{User: "alice@x", Transport: "slack2", Contact: "u1@slack.x", Subscription: "none"},
	}
	for _, it := range items {
		if err := db.PutRosterItem(it); err != nil {
			t.Fatalf("PutRosterItem(%v): %v", it, err)
		}
	}
	got, err := db.GetRosterItem("alice@x", "slack", "u1@slack.x")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AskedAt.Equal(asked) || got.Subscription != "to" {
		t.Errorf("GetRosterItem = %+v", got)
	}
	got, err = db.GetRosterItem("alice@x", "slack", "u2@slack.x")
	if err != nil || !reflect.DeepEqual(got, items[0]) {
		t.Errorf("GetRosterItem = %+v, %v; want %+v", got, err, items[0])
	}

	roster, err := db.Roster("alice@x", "slack")
	if err != nil {
		t.Fatal(err)
	}
	var contacts, subs []string
	for _, it := range roster {
		contacts = append(contacts, it.Contact)
		subs = append(subs, it.Subscription)
	}
	if want := []string{"u1@slack.x", "u2@slack.x", "u3@slack.x"}; !reflect.DeepEqual(contacts, want) {
		t.Errorf("Roster contacts = %v, want %v", contacts, want)
	}
	if want := []string{"to", "both", "none"}; !reflect.DeepEqual(subs, want) {
		t.Errorf("Roster subscriptions = %v, want %v", subs, want)
	}

	// Replace.
	upd := items[0]
	upd.Subscription, upd.Groups = "none", nil
	if err := db.PutRosterItem(upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetRosterItem(upd.User, upd.Transport, upd.Contact); got.Subscription != "none" || got.Groups != nil {
		t.Errorf("after replace: %+v", got)
	}

	if err := db.DeleteRosterItem("alice@x", "slack", "u1@slack.x"); err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name string
		err  error
		want error
	}{
		{"get deleted", second(db.GetRosterItem("alice@x", "slack", "u1@slack.x")), ErrNotFound},
		{"delete missing", db.DeleteRosterItem("alice@x", "slack", "u1@slack.x"), ErrNotFound},
		{"put bad subscription", db.PutRosterItem(RosterItem{User: "a", Transport: "t", Contact: "c", Subscription: "pending"}), ErrInvalid},
		{"put empty contact", db.PutRosterItem(RosterItem{User: "a", Transport: "t"}), ErrInvalid},
		{"put NUL user", db.PutRosterItem(RosterItem{User: "a\x00", Transport: "t", Contact: "c"}), ErrInvalid},
		{"get invalid", second(db.GetRosterItem("a", "", "c")), ErrInvalid},
		{"roster invalid", second(db.Roster("", "t")), ErrInvalid},
		{"delete invalid", db.DeleteRosterItem("a", "t", ""), ErrInvalid},
	}
	for _, e := range errs {
		wantErr(t, e.name, e.err, e.want)
	}
	if r, err := db.Roster("nobody@x", "slack"); err != nil || len(r) != 0 {
		t.Errorf("empty roster = %v, %v", r, err)
	}
}
