package lang

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stapDisagreements lists the corpus scripts where etap decides otherwise
// than `stap -p1` on purpose, with the reason. TestAgainstStap fails on
// any other disagreement, and on a script listed here that agrees.
var stapDisagreements = map[string]string{
	// stap's parser checks these; etap leaves them to sema, which checks
	// them with the types and declarations of every file in hand.
	"testdata/parseok/sema_printf_format.stp":    "sema checks that printf's format is a literal (S051)",
	"testdata/parseok/sema_print_arity.stp":      "sema counts the arguments of the printers",
	"testdata/parseok/sema_return_in_probe.stp":  "sema reports return outside a function",
	"testdata/parseok/sema_duplicate_global.stp": "sema reports a global declared twice (S003), across files",
	// etap checks at parse time what stap leaves to its pass 2 (where it
	// fails too), because the message is clearer at the parse.
	"testdata/parseko/not_assignable.stp": "stap checks assignment targets in pass 2",
	// stap hands escapes to the C compiler, which rejects these in pass 4;
	// etap decodes strings itself and says so where they are written.
	"testdata/parseko/bad_escape.stp": "stap leaves bad escapes to the C compiler",
	// stap lets a /* that is never closed run to the end of the file, so
	// the code after it silently disappears; etap reports it.
	"testdata/parseko/unterminated_comment.stp": "stap accepts an unclosed comment at the end of the file",
	// stap binds the last of two same-named macro parameters; etap reports
	// the duplicate, as both do for a function's parameters.
	"testdata/parseko/macro_duplicate_param.stp": "stap accepts two macro parameters with one name",
	// A ?: is not assignable, whatever stap's grammar lets through: stap
	// says so in pass 2.
	"testdata/parseko/expr_ternary_assign.stp": "stap checks assignment targets in pass 2",
	// stap's pass 2 says "wildcard not allowed in array index"; etap says
	// it at the parse, so that later passes never meet a wildcard there.
	"testdata/parseko/expr_star_index.stp": "stap rejects a[*] outside delete and in in pass 2",
}

// stapTimeout bounds one run of stap. A macro that expands to itself keeps
// stap busy for minutes (etap stops it at 1000 levels; see TestMacroErrors),
// so such scripts stay out of the corpus, and a run that times out fails.
const stapTimeout = time.Minute

// TestAgainstStap compares the verdict, accept or reject, of etap and of
// SystemTap's own parser (`stap -p1`) on every corpus script. stap wants a
// kernel build tree even for pass 1; a fake one made from corpusFacts
// serves, and gives stap the corpus's kernel release and configuration.
// stap runs in guru mode (-g), where it does not refuse embedded C and
// @const while parsing: etap leaves privileges to sema. It runs with
// --runtime=bpf, as etap's `runtime` is "bpf".
func TestAgainstStap(t *testing.T) {
	stap, err := exec.LookPath("stap")
	if err != nil {
		t.Skip("stap not installed: apt-get install systemtap")
	}
	tree := fakeBuildTree(t)
	seen := map[string]bool{}
	for _, dir := range []string{"parseok", "parseko"} {
		for path, src := range corpus(t, dir) {
			path = filepath.ToSlash(path)
			seen[path] = true
			t.Run(path, func(t *testing.T) {
				t.Parallel()
				_, diags := parseCorpus(t, path, src)
				etapOK := !diags.HasErrors()
				args := append([]string{"-p1", "-g", "--runtime=bpf", "-r", tree, path}, scriptArgs(t, src)...)
				ctx, cancel := context.WithTimeout(context.Background(), stapTimeout)
				defer cancel()
				out, err := exec.CommandContext(ctx, stap, args...).CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("stap -p1 did not finish in %s", stapTimeout)
				}
				var exit *exec.ExitError
				if err != nil && !errors.As(err, &exit) {
					t.Fatalf("run stap: %v", err)
				}
				stapOK := err == nil
				if reason, listed := stapDisagreements[path]; listed {
					assert.NotEqual(t, stapOK, etapOK, "stap and etap agree now (%s): drop %s from stapDisagreements", verdict(etapOK), path)
					t.Logf("etap %s, stap %s on purpose: %s", verdict(etapOK), verdict(stapOK), reason)
					return
				}
				assert.Equal(t, stapOK, etapOK, "stap -p1 %s it, etap %s it\nstap:\n%s\netap:\n%s",
					verdict(stapOK), verdict(etapOK), stapErrors(out), diags.Error())
			})
		}
	}
	for _, path := range slices.Sorted(maps.Keys(stapDisagreements)) {
		assert.True(t, seen[path], "stapDisagreements lists %s, which is not in the corpus", path)
	}
}

func verdict(ok bool) string {
	if ok {
		return "accepts"
	}
	return "rejects"
}

// stapErrors keeps stap's messages about the script, without the warnings
// that the fake build tree causes.
func stapErrors(out []byte) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "WARNING: Kernel function symbol table missing") && !strings.HasPrefix(line, "Tip: ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// fakeBuildTree makes the files stap checks in a kernel build tree
// (/lib/modules/RELEASE/build) before pass 1: the configuration, the
// release and Module.symvers.
func fakeBuildTree(t *testing.T) string {
	dir := t.TempDir()
	var config strings.Builder
	for _, name := range slices.Sorted(maps.Keys(corpusFacts.Config)) {
		fmt.Fprintf(&config, "%s=%s\n", name, corpusFacts.Config[name])
	}
	files := map[string]string{
		".config":                       config.String(),
		"include/config/kernel.release": corpusFacts.KernelRelease + "\n",
		"Module.symvers":                "",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	return dir
}
