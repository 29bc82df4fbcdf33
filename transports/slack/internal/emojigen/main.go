// Command emojigen writes the Slack transport's emoji tables (emoji_data.go)
// from the emoji.json file of the npm package emoji-datasource
// (github.com/iamcal/emoji-data), whose short names are the ones Slack uses.
//
// It is run by hand through `go generate` when the data is to be updated; the
// build never needs it:
//
//	cd /tmp && npm install emoji-datasource@16.0.0
//	go generate ./transports/slack/
//
// By default it reads /tmp/node_modules/emoji-datasource/{emoji,package}.json;
// -in names another emoji.json (its package.json is read from the same
// directory to record the version).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

func main() {
	in := flag.String("in", "/tmp/node_modules/emoji-datasource/emoji.json", "path of emoji-datasource's emoji.json")
	out := flag.String("out", "emoji_data.go", "Go file to write")
	pkg := flag.String("pkg", "slack", "package name of the generated file")
	flag.Parse()
	if err := run(*in, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "emojigen:", err)
		os.Exit(1)
	}
}

// emoji is the part of one emoji.json record that the tables need.
type emoji struct {
	Unified        string                `json:"unified"`
	NonQualified   *string               `json:"non_qualified"`
	ShortName      string                `json:"short_name"`
	ShortNames     []string              `json:"short_names"`
	SkinVariations map[string]skinRecord `json:"skin_variations"`
}

// skinRecord is one skin tone variation of an emoji.
type skinRecord struct {
	Unified      string  `json:"unified"`
	NonQualified *string `json:"non_qualified"`
}

func run(in, out, pkg string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var list []emoji
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("decode %s: %w", in, err)
	}
	if len(list) == 0 {
		return errors.New("no emoji in " + in)
	}
	version := "unknown"
	if meta, err := os.ReadFile(filepath.Join(filepath.Dir(in), "package.json")); err == nil {
		var p struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if json.Unmarshal(meta, &p) == nil && p.Version != "" {
			version = p.Version
		}
	}
	byName, byUnicode, err := tables(list)
	if err != nil {
		return err
	}
	src, err := render(pkg, version, byName, byUnicode)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// tables builds name → Unicode (every short name, with skin tone suffixes)
// and Unicode → primary name (qualified and non-qualified forms).
func tables(list []emoji) (byName, byUnicode map[string]string, err error) {
	byName = make(map[string]string)
	byUnicode = make(map[string]string)
	// Qualified forms first so that a non-qualified form never shadows one.
	type pair struct{ uni, name string }
	var loose []pair
	for _, e := range list {
		uni, err := decode(e.Unified)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.ShortName, err)
		}
		for _, n := range e.ShortNames {
			byName[n] = uni
		}
		byUnicode[uni] = e.ShortName
		if e.NonQualified != nil {
			nq, err := decode(*e.NonQualified)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", e.ShortName, err)
			}
			loose = append(loose, pair{nq, e.ShortName})
		}
		for key, v := range e.SkinVariations {
			suffix, err := skinSuffix(key)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", e.ShortName, err)
			}
			su, err := decode(v.Unified)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", e.ShortName, err)
			}
			for _, n := range e.ShortNames {
				byName[n+suffix] = su
			}
			byUnicode[su] = e.ShortName + suffix
			if v.NonQualified != nil {
				nq, err := decode(*v.NonQualified)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", e.ShortName, err)
				}
				loose = append(loose, pair{nq, e.ShortName + suffix})
			}
		}
	}
	for _, p := range loose {
		if _, ok := byUnicode[p.uni]; !ok {
			byUnicode[p.uni] = p.name
		}
	}
	return byName, byUnicode, nil
}

// tones maps the Fitzpatrick modifiers to Slack's skin tone numbers.
var tones = map[string]string{"1F3FB": "2", "1F3FC": "3", "1F3FD": "4", "1F3FE": "5", "1F3FF": "6"}

// skinSuffix turns a skin_variations key ("1F3FB" or "1F3FB-1F3FC") into
// Slack's suffix ("::skin-tone-2" or "::skin-tone-2-3"; a pair of equal tones
// is written once).
func skinSuffix(key string) (string, error) {
	parts := strings.Split(key, "-")
	nums := make([]string, 0, len(parts))
	for _, p := range parts {
		n, ok := tones[p]
		if !ok {
			return "", fmt.Errorf("unknown skin tone %q", key)
		}
		nums = append(nums, n)
	}
	if len(nums) == 2 && nums[0] == nums[1] {
		nums = nums[:1]
	}
	return "::skin-tone-" + strings.Join(nums, "-"), nil
}

// decode turns "1F44B-1F3FB" into the string of those code points.
func decode(hex string) (string, error) {
	var b strings.Builder
	for _, p := range strings.Split(hex, "-") {
		v, err := strconv.ParseUint(p, 16, 32)
		if err != nil || v > 0x10FFFF {
			return "", fmt.Errorf("bad code point %q in %q", p, hex)
		}
		b.WriteRune(rune(v))
	}
	return b.String(), nil
}

func render(pkg, version string, byName, byUnicode map[string]string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/emojigen from emoji-datasource %s. DO NOT EDIT.\n\n", version)
	fmt.Fprintf(&b, "// Source: the npm package emoji-datasource@%s (github.com/iamcal/emoji-data,\n", version)
	b.WriteString("// MIT licence, copyright Cal Henderson), whose short names are Slack's.\n\n")
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	fmt.Fprintf(&b, "// emojiDataVersion is the emoji-datasource version the tables were built from.\n")
	fmt.Fprintf(&b, "const emojiDataVersion = %q\n\n", version)
	b.WriteString("// emojiByName maps every short name, with and without a \"::skin-tone-N\"\n")
	b.WriteString("// suffix, to its fully qualified Unicode sequence.\n")
	writeMap(&b, "emojiByName", byName)
	b.WriteString("\n// emojiByUnicode maps a Unicode sequence, fully qualified or not, to the\n")
	b.WriteString("// primary short name (with a skin tone suffix for modified sequences).\n")
	writeMap(&b, "emojiByUnicode", byUnicode)
	return format.Source(b.Bytes())
}

func writeMap(b *bytes.Buffer, name string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(b, "var %s = map[string]string{\n", name)
	// A blank line between keys of different first bytes keeps gofmt's
	// column alignment (and so the file) small.
	for i, k := range keys {
		if i > 0 && keys[i-1][0] != k[0] {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "\t%s: %s,\n", quote(k), quote(m[k]))
	}
	b.WriteString("}\n")
}

// quote is strconv.Quote, but also escapes the invisible marks inside emoji
// sequences (variation selectors, joiners, tag characters) so that the
// generated source shows them.
func quote(s string) string {
	var b strings.Builder
	for _, r := range strconv.Quote(s) {
		if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
