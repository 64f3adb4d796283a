package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corpus returns the .stp files of testdata/dir with their text.
func corpus(t testing.TB, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.stp"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	files := map[string]string{}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		files[path] = string(src)
	}
	return files
}

func TestCorpusFirstLineNamesPass(t *testing.T) {
	for _, dir := range []string{"parseok", "parseko"} {
		for path, src := range corpus(t, dir) {
			t.Run(path, func(t *testing.T) {
				first, _, _ := strings.Cut(src, "\n")
				if strings.HasPrefix(first, "#!") {
					_, rest, _ := strings.Cut(src, "\n")
					first, _, _ = strings.Cut(rest, "\n")
				}
				assert.True(t, strings.HasPrefix(first, "# "+dir+":"), "first line %q", first)
			})
		}
	}
}

func TestParseOK(t *testing.T) {
	for path, src := range corpus(t, "parseok") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, diags := Parse(path, src, nil)
			require.Empty(t, messages(diags))
			checkSpans(t, f)
			assertRoundTrip(t, path, src)
		})
	}
}

// assertRoundTrip parses src, prints it, parses the print and checks that
// both trees agree, and that printing again gives the same text.
func assertRoundTrip(t *testing.T, name, src string) {
	t.Helper()
	f, diags := Parse(name, src, nil)
	require.False(t, diags.HasErrors())
	var out bytes.Buffer
	Print(&out, f)
	again, diags := Parse(name, out.String(), nil)
	require.Empty(t, messages(diags), "printed text does not parse:\n%s", out.String())
	assert.Equal(t, dump(f), dump(again), "printed:\n%s", out.String())
	var out2 bytes.Buffer
	Print(&out2, again)
	assert.Equal(t, out.String(), out2.String(), "printing is not stable")
}

// errorMarker matches `# ERROR "regexp"` or `# ERROR regexp` at the end of
// a line. A bare regexp serves lines whose own quotes would confuse the
// lexer, such as an unterminated string.
var errorMarker = regexp.MustCompile(`# ERROR (.*)$`)

func TestParseKO(t *testing.T) {
	for path, src := range corpus(t, "parseko") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := map[int]*regexp.Regexp{}
			for i, line := range strings.Split(src, "\n") {
				m := errorMarker.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				pattern := strings.TrimSpace(m[1])
				if len(pattern) >= 2 && strings.HasPrefix(pattern, `"`) && strings.HasSuffix(pattern, `"`) {
					pattern = pattern[1 : len(pattern)-1]
				}
				want[i+1] = regexp.MustCompile(pattern)
			}
			require.NotEmpty(t, want, "no # ERROR marker")

			_, diags := Parse(path, src, nil)
			got := map[int][]string{}
			for _, d := range diags.Items {
				assert.Equal(t, path, d.Span.Start.File)
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
