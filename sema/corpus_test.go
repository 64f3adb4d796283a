package sema_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/sema"
)

var update = flag.Bool("update", false, "rewrite the -p2 goldens in testdata/p2")

// corpusFile is one script of a testdata directory.
type corpusFile struct {
	path, src string
}

// corpus returns the .stp files of testdata/dir, in name order.
func corpus(t testing.TB, dir string) []corpusFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.stp"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var files []corpusFile
	for _, path := range paths {
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		files = append(files, corpusFile{path, string(src)})
	}
	return files
}

func TestCorpusFirstLineNamesPass(t *testing.T) {
	for _, dir := range []string{"semok", "semko", "p2"} {
		for _, f := range corpus(t, dir) {
			t.Run(f.path, func(t *testing.T) {
				first, _, _ := strings.Cut(f.src, "\n")
				assert.True(t, strings.HasPrefix(first, "# "+dir+": "), "first line %q", first)
			})
		}
	}
}

// TestSemOK checks that every script of testdata/semok checks cleanly.
func TestSemOK(t *testing.T) {
	for _, f := range corpus(t, "semok") {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			_, diags := check(t, f.path, f.src)
			assert.Empty(t, messages(diags))
		})
	}
}

// errorMarker matches `# ERROR "regexp"` at the end of a line. The regexp
// is matched against the diagnostic as formatDiag renders it,
//
//	CODE message note LINE:COL: note message hint: hint
//
// so a marker can name the stable code ("S006"), the words of the
// message, the place of a note or the hint, whichever says most.
var errorMarker = regexp.MustCompile(`# ERROR "(.*)"\s*$`)

// TestSemKO checks that every script of testdata/semko reports an error on
// each marked line, one that matches the marker, and nothing on the others.
func TestSemKO(t *testing.T) {
	for _, f := range corpus(t, "semko") {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			want := map[int]*regexp.Regexp{}
			for i, line := range strings.Split(f.src, "\n") {
				if m := errorMarker.FindStringSubmatch(line); m != nil {
					want[i+1] = regexp.MustCompile(m[1])
				}
			}
			require.NotEmpty(t, want, "no # ERROR marker")

			_, diags := check(t, f.path, f.src)
			got := map[int][]string{}
			for _, d := range diags.Items {
				assert.Equal(t, f.path, d.Span.Start.File)
				got[d.Span.Start.Line] = append(got[d.Span.Start.Line], formatDiag(d))
			}
			for line, re := range want {
				found := false
				for _, msg := range got[line] {
					found = found || re.MatchString(msg)
				}
				assert.True(t, found, "line %d: no diagnostic matches %q; got %q", line, re, got[line])
			}
			for line, msgs := range got {
				assert.Contains(t, want, line, "unexpected diagnostics on line %d: %q", line, msgs)
			}
		})
	}
}

// TestDumpGolden compares sema.Dump (-p2) of testdata/p2/*.stp with the
// .golden file next to each; -update rewrites them.
func TestDumpGolden(t *testing.T) {
	for _, f := range corpus(t, "p2") {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			prog, diags := check(t, f.path, f.src)
			require.Empty(t, messages(diags))
			var out bytes.Buffer
			sema.Dump(&out, prog)
			golden := strings.TrimSuffix(f.path, ".stp") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./sema -update to create it")
			assert.Equal(t, string(want), out.String())
		})
	}
}
