package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/diag"
	"etap/lang/ast"
)

// corpusFacts are the facts the corpus is parsed with, so that its
// conditionals mean the same everywhere; TestAgainstStap gives stap the
// same ones through a fake kernel build tree. The arch is the host's, as
// stap's is: the corpus tests arch only in ways that hold on any.
var corpusFacts = &Facts{
	KernelRelease:    "6.1.0-etap",
	Arch:             kernelArch(runtime.GOARCH),
	Runtime:          "bpf",
	SystemtapVersion: SystemtapVersion,
	Privilege:        "stapdev",
	Guru:             true,
	Config: map[string]string{
		"CONFIG_BPF": "y", "CONFIG_BPF_SYSCALL": "y", "CONFIG_MODULES": "y", "CONFIG_EXT4_FS": "m",
		"CONFIG_HZ": "250", "CONFIG_NR_CPUS": "64", "CONFIG_LOG_BUF_SHIFT": "0x11",
		"CONFIG_LOCALVERSION": `"-etap"`,
	},
}

// argsHeader is the line that gives a corpus script its arguments, as Go
// string literals: # args: "sys" "1 + 2"
const argsHeader = "# args:"

// scriptArgs reads the arguments a corpus script asks for.
func scriptArgs(t testing.TB, src string) []string {
	var args []string
	for _, line := range strings.Split(src, "\n") {
		rest, ok := strings.CutPrefix(line, argsHeader)
		if !ok {
			continue
		}
		for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
			q, err := strconv.QuotedPrefix(rest)
			require.NoError(t, err, "bad %s line %q", argsHeader, line)
			arg, _ := strconv.Unquote(q)
			args = append(args, arg)
			rest = rest[len(q):]
		}
	}
	return args
}

// corpusOptions are the options a corpus script is parsed with.
func corpusOptions(t testing.TB, src string) Options {
	return Options{Args: scriptArgs(t, src), Facts: corpusFacts}
}

// parseCorpus parses a corpus script as the corpus tests do.
func parseCorpus(t testing.TB, path, src string) (*ast.File, *diag.List) {
	return ParseWith(path, src, corpusOptions(t, src))
}

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
			f, diags := parseCorpus(t, path, src)
			require.Empty(t, messages(diags))
			checkSpans(t, f)
			assertRoundTrip(t, path, src, corpusOptions(t, src))
		})
	}
}

// assertRoundTrip parses src, prints it, parses the print and checks that
// both trees agree, and that printing again gives the same text. The
// print needs no options: arguments, macros and conditionals are gone.
func assertRoundTrip(t *testing.T, name, src string, opts Options) {
	t.Helper()
	f, diags := ParseWith(name, src, opts)
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

			_, diags := parseCorpus(t, path, src)
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
