package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every promise of the docs is kept: each `xgate COMMAND -flag` they show
// is a command with that flag, and each configuration key or table they
// show is one config.example.toml documents.

// docFiles are the documents checked: the README and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

// codeSnippet is code from a document: a fenced block (with its language)
// or an inline code span (lang "inline"), and the line it starts on.
type codeSnippet struct {
	lang, text string
	line       int
}

var inlineCode = regexp.MustCompile("`([^`\n]+)`")

// codeSnippets returns the fenced blocks and inline code spans of doc.
func codeSnippets(doc string) []codeSnippet {
	var out []codeSnippet
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "```") {
			lang, start := strings.TrimPrefix(l, "```"), i+1
			var b strings.Builder
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				b.WriteString(lines[i] + "\n")
			}
			out = append(out, codeSnippet{lang, b.String(), start + 1})
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(lines[i], -1) {
			out = append(out, codeSnippet{"inline", m[1], i + 1})
		}
	}
	return out
}

// commandUse matches an xgate command line: the program (xgate, ./xgate,
// go run ./cmd/xgate) at the start of a command, the command, and the rest.
var commandUse = regexp.MustCompile(`(?m)(?:^|[$#]\s|&&\s|;\s|\bsudo\s|\bgo run )(?:\S*/)?xgate\s+([a-z][a-z-]*)([^\n|;&)]*)`)

// commandFlags returns the flags of a command, or false if there is none.
func commandFlags(name string) (map[string]bool, bool) {
	if name == "help" {
		return map[string]bool{}, true
	}
	cmd := findCommand(name)
	if cmd == nil {
		return nil, false
	}
	fs := newFlagSet(cmd, io.Discard)
	cmd.setup(&cli{stdout: io.Discard, stderr: io.Discard, kinds: transportKinds}, fs)
	flags := map[string]bool{"h": true, "help": true}
	fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = true })
	return flags, true
}

func TestDocsNameRealCommands(t *testing.T) {
	checked := 0
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, sn := range codeSnippets(string(data)) {
			for _, m := range commandUse.FindAllStringSubmatch(sn.text, -1) {
				name, rest := m[1], m[2]
				flags, ok := commandFlags(name)
				if !ok {
					t.Errorf("%s:%d: `xgate %s`: there is no such command", file, sn.line, name)
					continue
				}
				checked++
				for _, tok := range strings.Fields(rest) {
					if !strings.HasPrefix(tok, "-") || tok == "-" || strings.HasPrefix(tok, "--") && len(tok) == 2 {
						continue
					}
					flag, _, _ := strings.Cut(strings.TrimLeft(tok, "-"), "=")
					flag = strings.Trim(flag, "[]")
					if !flags[flag] {
						t.Errorf("%s:%d: `xgate %s %s`: the command has no flag -%s", file, sn.line, name, tok, flag)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d command uses found in the docs: the parser is broken", checked)
	}
}

// exampleKeys returns the tables of config.example.toml and, for each,
// the keys it documents (set or commented out).
func exampleKeys(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{"": nil}
	table := ""
	header := regexp.MustCompile(`^#?\s*\[\[?([a-z_.]+)\]\]?\s*$`)
	// A key set or commented out ("# key = …"); indented lines in
	// comments are examples of other files (a Prosody snippet).
	key := regexp.MustCompile(`^(?:# )?([a-z][a-z0-9_]*) *=`)
	for _, l := range strings.Split(string(data), "\n") {
		if m := header.FindStringSubmatch(l); m != nil {
			table = m[1]
			if _, ok := keys[table]; !ok {
				keys[table] = nil
			}
		} else if m := key.FindStringSubmatch(l); m != nil && !slices.Contains(keys[table], m[1]) {
			keys[table] = append(keys[table], m[1])
		}
	}
	return keys
}

var (
	tomlHeader = regexp.MustCompile(`^\s*\[\[?([a-z_.]+)\]\]?\s*(#.*)?$`)
	tomlKey    = regexp.MustCompile(`^\s*([a-z][a-z0-9_]*)\s*=`)
	// keyRef is "[table].key", "table.key" or "[[table]].key" in prose code.
	keyRef = regexp.MustCompile(`^\[{0,2}([a-z_]+)\]{0,2}\.([a-z][a-z0-9_]*)$`)
	// tableRef is "[table]" or "[[table]]".
	tableRef = regexp.MustCompile(`^\[\[?([a-z_.]+)\]\]?$`)
)

func TestDocsNameRealConfigKeys(t *testing.T) {
	keys := exampleKeys(t)
	checked := 0
	check := func(file string, line int, table, key string) {
		t.Helper()
		known, ok := keys[table]
		switch {
		case !ok:
			t.Errorf("%s:%d: table [%s] is not in config.example.toml", file, line, table)
		case key != "" && !slices.Contains(known, key):
			t.Errorf("%s:%d: key %s in [%s] is not in config.example.toml", file, line, key, table)
		default:
			checked++
		}
	}
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, sn := range codeSnippets(string(data)) {
			switch sn.lang {
			case "toml":
				table := ""
				for i, l := range strings.Split(sn.text, "\n") {
					l = strings.TrimPrefix(strings.TrimSpace(l), "# ")
					if m := tomlHeader.FindStringSubmatch(l); m != nil {
						table = m[1]
						check(file, sn.line+i, table, "")
					} else if m := tomlKey.FindStringSubmatch(l); m != nil {
						check(file, sn.line+i, table, m[1])
					}
				}
			case "inline":
				if m := keyRef.FindStringSubmatch(sn.text); m != nil {
					if _, ok := keys[m[1]]; ok {
						check(file, sn.line, m[1], m[2])
					}
				} else if m := tableRef.FindStringSubmatch(sn.text); m != nil {
					check(file, sn.line, m[1], "")
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d keys found in the docs: the parser is broken", checked)
	}
}

var localLink = regexp.MustCompile(`\]\(([^)#:\s]+)(#[^)]*)?\)`)

// Every relative link of the docs leads to a file of the repository.
func TestDocsLinksExist(t *testing.T) {
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range localLink.FindAllStringSubmatch(string(data), -1) {
			if _, err := os.Stat(filepath.Join(filepath.Dir(file), m[1])); err != nil {
				t.Errorf("%s: link to %s: %v", file, m[1], err)
			}
		}
	}
}

// The README's quick start is two commands: the demo, and the full tests.
func TestReadmeQuickStart(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	for _, sn := range codeSnippets(after) {
		if sn.lang != "sh" {
			continue
		}
		lines := strings.Split(strings.TrimSpace(sn.text), "\n")
		if len(lines) != 2 || !strings.HasSuffix(lines[0], "go run ./cmd/xgate demo") || lines[1] != "bash .ci/run" {
			t.Errorf("quick start commands %q, want the demo and bash .ci/run", lines)
		}
		return
	}
	t.Error("Quick start has no sh block")
}

// commonTable stands, in the reference, for the keys every network table has.
const commonTable = "every network table"

// docsReference returns the configuration reference of docs/admin.md: for
// each table (or commonTable), its keys.
func docsReference(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../../docs/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "### Configuration reference\n")
	if !ok {
		t.Fatal("docs/admin.md has no configuration reference")
	}
	ref := map[string][]string{}
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(l, "#") {
			break
		}
		cells := strings.Split(l, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "table" {
			continue
		}
		table := strings.Trim(strings.TrimSpace(cells[1]), "`[]")
		for _, k := range strings.Split(cells[2], ",") {
			ref[table] = append(ref[table], strings.Trim(strings.TrimSpace(k), "`"))
		}
	}
	return ref
}

// The configuration reference of docs/admin.md and config.example.toml
// name the same keys.
func TestConfigReferenceInSync(t *testing.T) {
	example, ref := exampleKeys(t), docsReference(t)
	networks := map[string]bool{}
	for _, k := range transportKinds {
		networks[k.network] = true
	}
	for _, n := range plannedNetworks {
		networks[n] = true
	}
	inRef := func(table, key string) bool {
		if slices.Contains(ref[table], key) {
			return true
		}
		return networks[table] && slices.Contains(ref[commonTable], key)
	}
	for table, keys := range example {
		for _, k := range keys {
			if !inRef(table, k) {
				t.Errorf("config.example.toml: [%s] %s is missing from the reference in docs/admin.md", table, k)
			}
		}
	}
	// Keys the example describes in prose (app_token, the inline secret)
	// count as documented when it names them.
	text, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	for table, keys := range ref {
		for _, k := range keys {
			if !regexp.MustCompile(`\b` + k + `\b`).Match(text) {
				t.Errorf("docs/admin.md: the reference names %s.%s, which config.example.toml does not mention", table, k)
			}
		}
	}
	if len(ref) < 6 {
		t.Errorf("reference has %d tables: the parser is broken", len(ref))
	}
}
