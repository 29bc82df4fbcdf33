package bridge_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The import rules of the house (../shared/STYLE.md): a transport never
// imports xmpp or store (nor another transport); xmpp and store import
// nothing of ours (xmpp's own subpackages aside). It reads the packages'
// files, not their tests: end-to-end tests run a transport through a real
// host server and store.
func TestImportRules(t *testing.T) {
	const mod = "github.com/xgate-im/xgate/"
	rules := []struct {
		dir    string
		banned func(pkgDir, imp string) bool
	}{
		{"../transports", func(pkgDir, imp string) bool {
			if strings.HasPrefix(imp, mod+"xmpp") || strings.HasPrefix(imp, mod+"store") {
				return true
			}
			parts := strings.Split(filepath.ToSlash(pkgDir), "/") // transports/NAME/...
			if len(parts) < 2 {
				return false
			}
			own := mod + parts[0] + "/" + parts[1]
			return strings.HasPrefix(imp, mod+"transports/") && imp != own && !strings.HasPrefix(imp, own+"/")
		}},
		{"../xmpp", func(_, imp string) bool {
			return strings.HasPrefix(imp, mod) && !strings.HasPrefix(imp, mod+"xmpp")
		}},
		{"../store", func(_, imp string) bool { return strings.HasPrefix(imp, mod) }},
	}
	checked := 0
	for _, r := range rules {
		err := filepath.WalkDir(r.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			rel, _ := filepath.Rel("..", filepath.Dir(path))
			for _, is := range f.Imports {
				imp, _ := strconv.Unquote(is.Path.Value)
				if r.banned(rel, imp) {
					t.Errorf("%s imports %s", path, imp)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 30 {
		t.Fatalf("only %d files checked", checked)
	}
}
