package slack

import (
	"slices"
	"strings"
	"testing"
)

func TestMPIMHandles(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
		ok   bool
	}{
		{"mpdm-alice--bob-1", []string{"alice", "bob"}, true},
		{"mpdm-alice--bob--carol-12", []string{"alice", "bob", "carol"}, true},
		{"mpdm-jean-luc--bob-1", []string{"jean-luc", "bob"}, true},
		{"mpdm-alice-1", []string{"alice"}, true},
		{"general", nil, false},
		{"mpdm-alice--bob", nil, false},
		{"mpdm-alice--bob-", nil, false},
		{"mpdm--1", nil, false},
		{"mpdm-alice----bob-1", nil, false},
		{"mpdm-alice--bob-x1", nil, false},
	} {
		got, ok := mpimHandles(tc.name)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("mpimHandles(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzMPIMHandles(f *testing.F) {
	for _, s := range []string{"mpdm-alice--bob-1", "mpdm-a-1", "mpdm---1", "general"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		hs, ok := mpimHandles(name)
		if !ok {
			return
		}
		if len(hs) == 0 {
			t.Fatalf("%q: ok without handles", name)
		}
		// The handles are the name's, in order.
		if !strings.HasPrefix(name, "mpdm-"+strings.Join(hs, "--")+"-") {
			t.Fatalf("%q: handles %q", name, hs)
		}
	})
}
