package slack

import "iter"

// smallMap is a map from member or conversation IDs for the per-session
// state that usually holds a handful of entries (the account's direct
// messages, the contacts watched for presence). Up to smallMapMax entries
// it is a slice searched in order; beyond, a map. A Go map holding one
// entry costs a whole group of eight slots (300 bytes to 1 KB here), and
// ten thousand sessions kept five such maps each.
//
// The zero value is empty and ready to use. Not safe for concurrent use
// (Session.mu guards the session's).
type smallMap[V any] struct {
	few  []smallEntry[V]
	many map[string]V
}

type smallEntry[V any] struct {
	key string
	val V
}

// smallMapMax is the size beyond which a smallMap becomes a map.
const smallMapMax = 8

// get returns the value of k.
func (m *smallMap[V]) get(k string) (V, bool) {
	if m.many != nil {
		v, ok := m.many[k]
		return v, ok
	}
	for i := range m.few {
		if m.few[i].key == k {
			return m.few[i].val, true
		}
	}
	var zero V
	return zero, false
}

// set makes v the value of k.
func (m *smallMap[V]) set(k string, v V) {
	if m.many != nil {
		m.many[k] = v
		return
	}
	for i := range m.few {
		if m.few[i].key == k {
			m.few[i].val = v
			return
		}
	}
	if len(m.few) < smallMapMax {
		m.few = append(m.few, smallEntry[V]{k, v})
		return
	}
	m.many = make(map[string]V, 2*smallMapMax)
	for _, e := range m.few {
		m.many[e.key] = e.val
	}
	m.many[k] = v
	m.few = nil
}

// del removes k.
func (m *smallMap[V]) del(k string) {
	if m.many != nil {
		delete(m.many, k)
		return
	}
	for i := range m.few {
		if m.few[i].key == k {
			last := len(m.few) - 1
			m.few[i] = m.few[last]
			m.few[last] = smallEntry[V]{}
			m.few = m.few[:last]
			return
		}
	}
}

// len returns the number of entries.
func (m *smallMap[V]) len() int {
	if m.many != nil {
		return len(m.many)
	}
	return len(m.few)
}

// all yields every entry, in no particular order. The map must not change
// during the iteration.
func (m *smallMap[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.many != nil {
			for k, v := range m.many {
				if !yield(k, v) {
					return
				}
			}
			return
		}
		for _, e := range m.few {
			if !yield(e.key, e.val) {
				return
			}
		}
	}
}
