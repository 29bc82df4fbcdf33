package slack

import (
	"fmt"
	"maps"
	"testing"
)

// TestSmallMapMatchesMap runs the same operations on a smallMap and a Go
// map, across the switch from slice to map, and compares them after each.
func TestSmallMapMatchesMap(t *testing.T) {
	type op struct {
		del bool
		key string
		val int
	}
	var grow []op
	for i := range 2 * smallMapMax {
		grow = append(grow, op{key: fmt.Sprint("k", i), val: i})
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"empty", nil},
		{"one", []op{{key: "a", val: 1}}},
		{"overwrite", []op{{key: "a", val: 1}, {key: "a", val: 2}}},
		{"delete missing", []op{{del: true, key: "a"}}},
		{"delete middle", []op{{key: "a", val: 1}, {key: "b", val: 2}, {key: "c", val: 3}, {del: true, key: "b"}, {key: "b", val: 4}}},
		{"grow past the slice", grow},
		{"grow then delete", append(append([]op{}, grow...), op{del: true, key: "k3"}, op{del: true, key: "k15"}, op{key: "k3", val: 30})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m smallMap[int]
			want := map[string]int{}
			for i, o := range tt.ops {
				if o.del {
					m.del(o.key)
					delete(want, o.key)
				} else {
					m.set(o.key, o.val)
					want[o.key] = o.val
				}
				got := maps.Collect(m.all())
				if !maps.Equal(got, want) || m.len() != len(want) {
					t.Fatalf("after op %d (%+v): have %v (len %d), want %v", i, o, got, m.len(), want)
				}
				for k, v := range want {
					if g, ok := m.get(k); !ok || g != v {
						t.Fatalf("after op %d: get(%q) = %d, %v; want %d", i, k, g, ok, v)
					}
				}
				if _, ok := m.get("absent"); ok {
					t.Fatalf("after op %d: get of an absent key found it", i)
				}
			}
		})
	}
}
