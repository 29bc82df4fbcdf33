package faults

import "testing"

func TestLedger(t *testing.T) {
	type step struct {
		op string // "sent", "bounced", "delivered"
		n  int
	}
	tests := []struct {
		name  string
		sent  int
		steps []step
		want  Tally
	}{
		{"all in order", 3, []step{{"delivered", 0}, {"delivered", 1}, {"delivered", 2}},
			Tally{Sent: 3, Delivered: 3}},
		{"nothing arrived", 2, nil, Tally{Sent: 2, Lost: 2}},
		{"one lost", 3, []step{{"delivered", 0}, {"delivered", 2}},
			Tally{Sent: 3, Delivered: 2, Lost: 1}},
		{"bounced is not lost", 3, []step{{"delivered", 0}, {"bounced", 1}, {"delivered", 2}},
			Tally{Sent: 3, Delivered: 2, Bounced: 1}},
		{"duplicates counted per extra arrival", 2, []step{{"delivered", 0}, {"delivered", 0}, {"delivered", 0}, {"delivered", 1}},
			Tally{Sent: 2, Delivered: 2, Duplicated: 2}},
		{"a replayed run is duplicated, not reordered", 3, []step{{"delivered", 0}, {"delivered", 1}, {"delivered", 0}, {"delivered", 1}, {"delivered", 2}},
			Tally{Sent: 3, Delivered: 3, Duplicated: 2}},
		{"first arrival after a later one is reordered", 3, []step{{"delivered", 1}, {"delivered", 0}, {"delivered", 2}},
			Tally{Sent: 3, Delivered: 3, Reordered: 1}},
		{"bounced and delivered", 1, []step{{"bounced", 0}, {"delivered", 0}},
			Tally{Sent: 1, Delivered: 1, Bounced: 1, BouncedButDelivered: 1}},
		{"never sent", 1, []step{{"delivered", 0}, {"delivered", 7}, {"delivered", -1}},
			Tally{Sent: 1, Delivered: 1, Unknown: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger()
			for n := range tt.sent {
				l.Sent(n)
			}
			for _, s := range tt.steps {
				switch s.op {
				case "bounced":
					l.Bounced(s.n)
				case "delivered":
					l.Delivered(s.n)
				}
			}
			if got := l.Tally(); got != tt.want {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestLedgerRefusesOutOfOrderSends(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("sending 1 before 0 did not panic")
		}
	}()
	NewLedger().Sent(1)
}
