package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Violation is one forbidden import.
type Violation struct {
	File   string // slash-separated, relative to the module root
	Import string // the full import path
	Rule   string // why it is forbidden
}

// String names the file, the import and the rule.
func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s: %s", v.File, v.Import, v.Rule)
}

// fileImports are the imports of one Go file.
type fileImports struct {
	file, pkg string // relative to the root; pkg is the file's directory
	test      bool
	imports   []string // relative to the module root; ours only
	full      []string // the same, as written
}

// Check parses the imports of every Go file under root, the directory of
// the module named module (testdata, vendor and directories starting with
// "." or "_" are skipped, as the go command does), and returns the
// forbidden imports, sorted by file.
func Check(root, module string) ([]Violation, error) {
	files, err := readImports(root, module)
	if err != nil {
		return nil, err
	}
	// Non-test imports of each package, for the bridge → kit rule.
	deps := map[string][]string{}
	for _, f := range files {
		if !f.test {
			deps[f.pkg] = append(deps[f.pkg], f.imports...)
		}
	}
	memo := map[string]bool{}
	var importsBridge func(pkg string, seen map[string]bool) bool
	importsBridge = func(pkg string, seen map[string]bool) bool {
		if v, ok := memo[pkg]; ok {
			return v
		}
		if seen[pkg] {
			return false
		}
		seen[pkg] = true
		v := false
		for _, d := range deps[pkg] {
			if isBridge(d) || areaOf(d).kind == "kit" && importsBridge(d, seen) {
				v = true
				break
			}
		}
		memo[pkg] = v
		return v
	}
	kitImportsBridge := func(pkg string) bool { return importsBridge(pkg, map[string]bool{}) }

	var out []Violation
	for _, f := range files {
		for i, imp := range f.imports {
			if rule := forbidden(f.pkg, imp, f.test, kitImportsBridge); rule != "" {
				out = append(out, Violation{File: f.file, Import: f.full[i], Rule: rule})
			}
		}
	}
	slices.SortFunc(out, func(a, b Violation) int {
		return strings.Compare(a.String(), b.String())
	})
	return out, nil
}

// readImports parses the import blocks of the module's Go files.
func readImports(root, module string) ([]fileImports, error) {
	var files []fileImports
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		src, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("archtest: %w", err)
		}
		f := fileImports{file: rel, pkg: path.Dir(rel), test: strings.HasSuffix(name, "_test.go")}
		if f.pkg == "." {
			f.pkg = ""
		}
		for _, spec := range src.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("archtest: %s: bad import %s", rel, spec.Path.Value)
			}
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			f.imports = append(f.imports, strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
			f.full = append(f.full, imp)
		}
		files = append(files, f)
		return nil
	})
	return files, err
}
