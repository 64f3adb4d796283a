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

	"etap/diag"
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

// TestSemOK checks that every script of testdata/semok checks without
// errors, and warns exactly where its markers say.
func TestSemOK(t *testing.T) {
	for _, f := range corpus(t, "semok") {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			want := markers(f.src)
			for line, m := range want {
				assert.Equal(t, diag.Warning, m.severity, "line %d: semok files mark only warnings", line)
			}
			_, diags := check(t, f.path, f.src)
			matchMarkers(t, f.path, want, diags)
		})
	}
}

// marker matches `# ERROR "regexp"` or `# WARNING "regexp"` at the end of
// a line. The regexp is matched against the diagnostic as formatDiag
// renders it,
//
//	CODE message note LINE:COL: note message hint: hint
//
// so a marker can name the stable code ("S006"), the words of the
// message, the place of a note or the hint, whichever says most.
var marker = regexp.MustCompile(`# (ERROR|WARNING) "(.*)"\s*$`)

// expectation is one marker: a diagnostic of this severity whose rendering
// matches re.
type expectation struct {
	severity diag.Severity
	re       *regexp.Regexp
}

// markers gives the markers of src by line.
func markers(src string) map[int]expectation {
	want := map[int]expectation{}
	for i, line := range strings.Split(src, "\n") {
		if m := marker.FindStringSubmatch(line); m != nil {
			sev := diag.Error
			if m[1] == "WARNING" {
				sev = diag.Warning
			}
			want[i+1] = expectation{sev, regexp.MustCompile(m[2])}
		}
	}
	return want
}

// matchMarkers checks that each marked line has a diagnostic of the
// marker's severity that matches it, and that no line has a diagnostic its
// marker does not explain: an unmarked warning fails the test too.
func matchMarkers(t *testing.T, path string, want map[int]expectation, diags *diag.List) {
	t.Helper()
	got := map[int][]*diag.Diagnostic{}
	for _, d := range diags.Items {
		assert.Equal(t, path, d.Span.Start.File)
		got[d.Span.Start.Line] = append(got[d.Span.Start.Line], d)
	}
	for line, w := range want {
		found := false
		var msgs []string
		for _, d := range got[line] {
			msgs = append(msgs, formatDiag(d))
			found = found || (d.Severity == w.severity && w.re.MatchString(formatDiag(d)))
		}
		assert.True(t, found, "line %d: no %s matches %q; got %q", line, severityWord(w.severity), w.re, msgs)
	}
	for line, ds := range got {
		w, ok := want[line]
		for _, d := range ds {
			assert.True(t, ok && d.Severity == w.severity, "unexpected %s on line %d: %q", severityWord(d.Severity), line, formatDiag(d))
		}
	}
}

func severityWord(s diag.Severity) string {
	if s == diag.Warning {
		return "warning"
	}
	return "error"
}

// TestSemKO checks that every script of testdata/semko reports an error on
// each line marked ERROR, a warning on each line marked WARNING, one that
// matches the marker, and nothing on the other lines.
func TestSemKO(t *testing.T) {
	for _, f := range corpus(t, "semko") {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			want := markers(f.src)
			errs := 0
			for _, m := range want {
				if m.severity == diag.Error {
					errs++
				}
			}
			require.NotZero(t, errs, "no # ERROR marker")
			_, diags := check(t, f.path, f.src)
			matchMarkers(t, f.path, want, diags)
		})
	}
}

// TestDumpGolden compares sema.Dump (-p2) of testdata/p2/*.stp with the
// .golden file next to each; -update rewrites them.
func TestDumpGolden(t *testing.T) {
	for _, f := range corpus(t, "p2") {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			prog, diags := check(t, f.path, f.src)
			require.False(t, diags.HasErrors(), "%q", messages(diags))
			matchMarkers(t, f.path, markers(f.src), diags)
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
