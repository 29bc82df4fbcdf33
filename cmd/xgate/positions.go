package main

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// position is a 1-based line and column in the configuration file.
type position struct{ line, col int }

// positions maps the key paths of a document ("log.level", "slack[1]",
// "slack[1].domain") to where they are written: the key of a key/value
// pair, the name in a table header. Semantic errors use it to point at the
// line they are about.
type positions map[string]position

// findPositions parses doc, which must be valid TOML, and records the
// position of every table and key. A document that does not parse yields
// what was recorded before the error.
func findPositions(doc []byte) positions {
	pos := positions{}
	arrays := map[string]int{} // resolved path of an array of tables -> elements seen
	var p unstable.Parser
	p.Reset(doc)
	table := "" // resolved path of the current table
	at := func(n *unstable.Node) position {
		sh := p.Shape(n.Raw)
		return position{sh.Start.Line, sh.Start.Column}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, first := keyParts(e)
			if first == nil {
				continue
			}
			path := resolve(arrays, "", parts[:len(parts)-1])
			path = join(path, parts[len(parts)-1])
			if e.Kind == unstable.ArrayTable {
				if _, ok := pos[path]; !ok {
					pos[path] = at(first) // the first element stands for the array
				}
				n := arrays[path]
				arrays[path] = n + 1
				path += "[" + strconv.Itoa(n) + "]"
			} else if n, ok := arrays[path]; ok && n > 0 {
				path += "[" + strconv.Itoa(n-1) + "]"
			}
			table = path
			if _, ok := pos[path]; !ok {
				pos[path] = at(first)
			}
		case unstable.KeyValue:
			parts, first := keyParts(e)
			if first == nil {
				continue
			}
			path := table
			for _, k := range parts {
				path = join(path, k)
			}
			pos[path] = at(first)
			recordValue(pos, path, e.Value(), at)
		}
	}
	return pos
}

// recordValue records the keys inside an inline table or an array of
// inline tables.
func recordValue(pos positions, path string, v *unstable.Node, at func(*unstable.Node) position) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			kv := it.Node()
			if kv.Kind != unstable.KeyValue {
				continue
			}
			parts, first := keyParts(kv)
			if first == nil {
				continue
			}
			sub := path
			for _, k := range parts {
				sub = join(sub, k)
			}
			pos[sub] = at(first)
			recordValue(pos, sub, kv.Value(), at)
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			el := it.Node()
			sub := path + "[" + strconv.Itoa(i) + "]"
			pos[sub] = at(el)
			recordValue(pos, sub, el, at)
		}
	}
}

// keyParts returns the parts of a node's key and its first key node.
func keyParts(n *unstable.Node) ([]string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if first == nil {
			first = k
		}
		parts = append(parts, string(k.Data))
	}
	return parts, first
}

// resolve turns the parts of a header into a path, indexing every array of
// tables it goes through with its last element.
func resolve(arrays map[string]int, path string, parts []string) string {
	for _, k := range parts {
		path = join(path, k)
		if n, ok := arrays[path]; ok && n > 0 {
			path += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return path
}

func join(path, key string) string {
	if needsQuotes(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// needsQuotes reports whether a key must be quoted to be written bare.
func needsQuotes(key string) bool {
	if key == "" {
		return true
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return true
		}
	}
	return false
}

// lookup returns the position of a path or, failing that, of its nearest
// ancestor that has one.
func (pos positions) lookup(path string) (position, bool) {
	for path != "" {
		if p, ok := pos[path]; ok {
			return p, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return position{}, false
}
