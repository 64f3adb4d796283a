package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// module is etap's module path.
const module = "etap"

// rule says what the packages matching pkg may import. A package is governed
// by the rule with the longest matching pattern, so "etap/lang/..." covers
// lang and lang/ast unless a more specific rule exists.
//
// Patterns are import paths, where a trailing "/..." also matches the path
// itself and everything below it, as in `go list`.
type rule struct {
	pkg string
	// any: no restriction (cmd/etap wires everything together).
	any bool
	// allow lists the non-standard packages pkg may import directly: other
	// etap packages and third-party modules. The standard library is always
	// allowed, except what mustNotImport names.
	allow []string
	// mustNotImport names packages pkg must not import directly, with the
	// reason. Used where a transitive ban cannot hold: loader reaches sema
	// through codegen/bpf, output reaches cilium through maps.
	mustNotImport []ban
	// mustNotDependOn names packages that must not appear anywhere among
	// pkg's (non-test) dependencies.
	mustNotDependOn []ban
}

// ban is a forbidden import pattern and why it is forbidden.
type ban struct {
	pattern, why string
}

const (
	cilium    = "github.com/cilium/ebpf"
	ciliumAll = "github.com/cilium/ebpf/..."
	asm       = "github.com/cilium/ebpf/asm"
	btf       = "github.com/cilium/ebpf/btf"
	link      = "github.com/cilium/ebpf/link"
	ringbuf   = "github.com/cilium/ebpf/ringbuf"
	xsys      = "golang.org/x/sys/..."
	particip  = "github.com/alecthomas/participle/v2/..."
)

// rules is DESIGN.md's import table.
var rules = []rule{
	{
		pkg: "etap/diag",
		// allow: nothing outside the standard library.
		mustNotDependOn: []ban{{"etap/...", "diag is the bottom layer: every pass uses it, it uses none"}},
	},
	{
		pkg:   "etap/lang/...",
		allow: []string{"etap/diag", "etap/lang/...", particip},
		mustNotDependOn: []ban{
			{"etap/sema/...", "the parser knows syntax only; meaning is sema's"},
			{"etap/codegen/...", "the parser must not know about code generation"},
			{ciliumAll, "parsing needs no BPF: -p1 works anywhere"},
		},
	},
	{
		pkg: "etap/tapsets",
		// allow: the standard library (embed) only.
		mustNotDependOn: []ban{{"etap/...", "tapsets is data: *.stp files and an embed.FS"}},
	},
	{
		pkg: "etap/sema/...",
		// Kernel facts (BTF, tracefs, ELF) come in through an interface;
		// cilium's btf package reads BTF. maps gives sema the ABI limits.
		allow: []string{"etap/sema/...", "etap/lang/...", "etap/diag", "etap/tapsets", "etap/maps", btf},
		mustNotDependOn: []ban{
			{"etap/codegen/...", "sema produces the Program that codegen consumes"},
			{"etap/loader", "sema must not touch the running kernel beyond its facts interface"},
			{"etap/vm", "sema is a compiler pass; vm is a run-time engine"},
			{"etap/output", "sema is a compiler pass; output is run time"},
		},
	},
	{
		pkg:   "etap/maps",
		allow: []string{"etap/maps/...", ciliumAll},
		mustNotDependOn: []ban{
			{"etap/sema/...", "maps is the kernel-user ABI, below the compiler"},
			{"etap/loader", "maps is the kernel-user ABI, below the loader"},
		},
	},
	{
		pkg:   "etap/codegen/...",
		allow: []string{"etap/codegen/...", "etap/sema/...", "etap/maps", "etap/diag", "etap/lang/ast", cilium, asm, btf},
		mustNotImport: []ban{
			{"syscall", "codegen is deterministic: no syscalls, no file descriptors"},
			{"golang.org/x/sys/...", "codegen is deterministic: no syscalls, no file descriptors"},
		},
		mustNotDependOn: []ban{
			{link, "attaching is the loader's job"},
			{ringbuf, "draining the ring buffer is the loader's job"},
			{"etap/loader", "codegen produces what the loader loads"},
			{"etap/vm", "codegen's output runs in vm; it must not depend on it"},
			{"etap/output", "codegen emits records; output formats them at run time"},
		},
	},
	{
		pkg:   "etap/vm",
		allow: []string{"etap/vm/...", "etap/maps", cilium, asm, xsys},
		mustNotDependOn: []ban{
			{"etap/loader", "the loader drives vm, not the other way round"},
			{"etap/sema/...", "vm runs bytecode; it must not know the language"},
			{"etap/codegen/...", "vm runs codegen's output; it must not depend on codegen"},
			{"etap/output", "vm's helpers emit records; output formats them"},
		},
	},
	{
		pkg: "etap/loader",
		// DESIGN.md's table does not list output; allowing it adds no
		// cycle (output sees only maps) and lets the loader hand drained
		// records straight to a formatter.
		allow: []string{"etap/loader/...", "etap/codegen/...", "etap/maps", "etap/vm", "etap/diag", "etap/output", ciliumAll, xsys},
		mustNotImport: []ban{
			{"etap/lang/...", "the loader takes codegen's output, never source or AST"},
			{"etap/sema/...", "the loader takes codegen's output, never sema's Program"},
		},
	},
	{
		pkg:   "etap/output",
		allow: []string{"etap/output/...", "etap/maps"},
		mustNotImport: []ban{
			{ciliumAll, "output turns decoded records into text; it never touches BPF objects"},
		},
		mustNotDependOn: []ban{
			{"etap/loader", "the loader feeds output, not the other way round"},
			{"etap/sema/...", "output works from the maps record schema, not the compiler"},
			{"etap/vm", "output formats records; it does not run code"},
		},
	},
	// Unrestricted: the command wires everything together; benchmarks and
	// internal helpers (tests' tools, this package) sit outside the layers.
	{pkg: "etap/cmd/...", any: true},
	{pkg: "etap/bench", any: true},
	{pkg: "etap/internal/...", any: true},
}

// pkgInfo is what the test needs from `go list -json`.
type pkgInfo struct {
	ImportPath string
	Standard   bool
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
	Error      *struct{ Err string }
}

func TestImportRules(t *testing.T) {
	pkgs, project := loadPackages(t)

	t.Run("every package has a rule", func(t *testing.T) {
		for _, p := range project {
			if ruleFor(p) == nil {
				t.Errorf("package %s has no rule in internal/archtest's table: add one, matching DESIGN.md's import table", p)
			}
		}
	})

	for _, r := range rules {
		t.Run(strings.TrimPrefix(r.pkg, module+"/"), func(t *testing.T) {
			var governed []string
			for _, p := range project {
				if got := ruleFor(p); got != nil && got.pkg == r.pkg {
					governed = append(governed, p)
				}
			}
			if len(governed) == 0 {
				t.Skipf("no package matches %s yet", r.pkg)
			}
			for _, p := range governed {
				for _, msg := range check(r, pkgs[p], pkgs) {
					t.Error(msg)
				}
			}
		})
	}
}

// check returns one message per violation of r by p.
func check(r rule, p *pkgInfo, pkgs map[string]*pkgInfo) []string {
	if r.any {
		return nil
	}
	var msgs []string
	for _, imp := range p.Imports {
		if b, ok := banned(r.mustNotImport, imp); ok {
			msgs = append(msgs, p.ImportPath+" imports "+imp+": must not import "+b.pattern+" ("+b.why+")")
			continue
		}
		if b, ok := banned(r.mustNotDependOn, imp); ok {
			msgs = append(msgs, p.ImportPath+" imports "+imp+": must not depend on "+b.pattern+" ("+b.why+")")
			continue
		}
		if isStandard(imp, pkgs) || imp == "C" {
			continue
		}
		if !slices.ContainsFunc(r.allow, func(pat string) bool { return match(pat, imp) }) {
			allowed := "only the standard library"
			if len(r.allow) > 0 {
				allowed = "the standard library and " + strings.Join(r.allow, ", ")
			}
			msgs = append(msgs, p.ImportPath+" imports "+imp+", which its layer does not allow; it may import "+allowed+" (DESIGN.md, \"Packages and what each may import\")")
		}
	}
	for _, dep := range p.Deps {
		if slices.Contains(p.Imports, dep) {
			continue // reported above
		}
		if b, ok := banned(r.mustNotDependOn, dep); ok {
			msgs = append(msgs, p.ImportPath+" depends on "+dep+" (via "+strings.Join(importChain(p.ImportPath, dep, pkgs), " → ")+"): must not depend on "+b.pattern+" ("+b.why+")")
		}
	}
	return msgs
}

// loadPackages runs `go list -e -deps -json ./...` at the module root and
// returns every listed package by import path and the project's packages,
// sorted. -e keeps a package that does not compile yet in the graph: its
// imports are still known, and compile errors are other tests' business.
func loadPackages(t *testing.T) (map[string]*pkgInfo, []string) {
	t.Helper()
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Standard,Imports,Deps,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list in %s: %s", root, stderr.String())

	pkgs := map[string]*pkgInfo{}
	var project []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkgInfo)
		err := dec.Decode(p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "decode go list output")
		pkgs[p.ImportPath] = p
		if match(module+"/...", p.ImportPath) {
			project = append(project, p.ImportPath)
		}
	}
	sort.Strings(project)
	require.NotEmpty(t, project, "go list found no package of module %s in %s", module, root)
	return pkgs, project
}

// moduleRoot returns the directory holding etap's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err, "go env GOMOD")
	gomod := strings.TrimSpace(string(out))
	require.NotEmpty(t, gomod, "not inside a module")
	return filepath.Dir(gomod)
}

// ruleFor returns the rule with the longest pattern matching pkg, or nil.
func ruleFor(pkg string) *rule {
	var best *rule
	for i := range rules {
		if match(rules[i].pkg, pkg) && (best == nil || len(rules[i].pkg) > len(best.pkg)) {
			best = &rules[i]
		}
	}
	return best
}

// match reports whether path matches pattern: equal, or, for a pattern
// ending in "/...", equal to its prefix or below it.
func match(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	return path == pattern
}

func banned(bans []ban, path string) (ban, bool) {
	for _, b := range bans {
		if match(b.pattern, path) {
			return b, true
		}
	}
	return ban{}, false
}

// isStandard reports whether path is in the standard library. go list marks
// it; for a path it did not list (it should list every dependency), fall back
// to the convention that standard paths have no dot in their first element.
func isStandard(path string, pkgs map[string]*pkgInfo) bool {
	if p, ok := pkgs[path]; ok {
		return p.Standard
	}
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// importChain returns a shortest chain of imports from `from` to `to`, so a
// transitive violation says which import brought the dependency in.
func importChain(from, to string, pkgs map[string]*pkgInfo) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for p := to; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		if p, ok := pkgs[cur]; ok {
			for _, imp := range p.Imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = cur
					queue = append(queue, imp)
				}
			}
		}
	}
	return []string{from, "…", to}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"etap/lang/...", "etap/lang", true},
		{"etap/lang/...", "etap/lang/ast", true},
		{"etap/lang/...", "etap/language", false},
		{"etap/diag", "etap/diag", true},
		{"etap/diag", "etap/diag/x", false},
		{ciliumAll, cilium, true},
		{ciliumAll, link, true},
		{cilium, link, false},
	} {
		t.Run(tc.pattern+"~"+tc.path, func(t *testing.T) {
			if got := match(tc.pattern, tc.path); got != tc.want {
				t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
			}
		})
	}
}
