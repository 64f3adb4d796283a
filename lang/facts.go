package lang

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
)

// Facts are what the conditions of `%( ... %? ... %: ... %)` test: the
// kernel, the architecture, the runtime and the session. Parse takes them
// from Options; tests build their own, so that a conditional script parses
// the same way on every machine.
type Facts struct {
	// KernelRelease is the full release, as `uname -r` prints it
	// ("6.1.0-18-amd64"): what kernel_vr compares with. kernel_v compares
	// with the part before the first '-'.
	KernelRelease string
	// Arch is the kernel's name for the architecture, as stap spells it:
	// "x86_64", "i386", "arm64", "arm", "powerpc", "s390", "mips", "riscv".
	Arch string
	// Config maps CONFIG_ options of the kernel to their values as the
	// kernel's .config writes them ("y", "m", "64", "\"str\""); an option
	// that is not set is absent.
	Config map[string]string
	// Runtime is what `runtime` compares with; etap is "bpf".
	Runtime string
	// SystemtapVersion is what `systemtap_v` compares with: the version of
	// the language etap speaks.
	SystemtapVersion string
	// Privilege is "stapusr", "stapsys" or "stapdev".
	Privilege string
	// Guru is `guru_mode == 1`.
	Guru bool
}

// SystemtapVersion is the stap release whose language etap implements: its
// grammar is that of stap 4.8, the version in the package archive that the
// parser is compared with.
const SystemtapVersion = "4.8"

// kernelV is the release up to its first '-', which kernel_v compares with.
func (f *Facts) kernelV() string {
	v, _, _ := strings.Cut(f.KernelRelease, "-")
	return v
}

// HostFacts returns the facts of the running system, read once: the
// release from /proc, the kernel configuration from /proc/config.gz or
// /boot/config-RELEASE when one is readable (else no option is set), the
// architecture etap was built for, runtime "bpf", privilege "stapdev"
// (etap needs root) and guru mode off.
var HostFacts = sync.OnceValue(func() *Facts {
	f := &Facts{Arch: kernelArch(runtime.GOARCH), Runtime: "bpf", SystemtapVersion: SystemtapVersion, Privilege: "stapdev"}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		f.KernelRelease = strings.TrimSpace(string(b))
	}
	f.Config = readKernelConfig(f.KernelRelease)
	return f
})

// kernelArch maps a GOARCH to the architecture name that stap's arch
// condition uses (stap normalises `uname -m` the same way).
func kernelArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "386":
		return "i386"
	case "ppc64", "ppc64le":
		return "powerpc"
	case "s390x":
		return "s390"
	case "mips", "mipsle", "mips64", "mips64le":
		return "mips"
	case "riscv64":
		return "riscv"
	case "loong64":
		return "loongarch"
	}
	return goarch // arm64, arm
}

// readKernelConfig reads the running kernel's configuration, preferring
// /proc/config.gz (always current) to /boot/config-RELEASE.
func readKernelConfig(release string) map[string]string {
	if f, err := os.Open("/proc/config.gz"); err == nil {
		defer f.Close()
		if z, err := gzip.NewReader(f); err == nil {
			return parseKernelConfig(z)
		}
	}
	if f, err := os.Open("/boot/config-" + release); err == nil {
		defer f.Close()
		return parseKernelConfig(f)
	}
	return map[string]string{}
}

// parseKernelConfig reads the `CONFIG_X=value` lines of a .config; the
// `# CONFIG_X is not set` lines leave X absent, as stap does.
func parseKernelConfig(r io.Reader) map[string]string {
	config := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if name, value, ok := strings.Cut(line, "="); ok && strings.HasPrefix(name, "CONFIG_") {
			config[name] = value
		}
	}
	return config
}

// strverscmp orders two version strings as glibc's strverscmp does, which
// is what stap's kernel_v and systemtap_v conditions use: digit runs
// compare as numbers ("2.6.9" < "2.6.10"), and a run with leading zeros
// as a fraction ("1.01" < "1.1"). It returns -1, 0 or +1.
func strverscmp(a, b string) int {
	// The states of glibc's automaton: in normal text, in the integral
	// part of a number, in a fraction, in leading zeros.
	const (
		sN = 0
		sI = 3
		sF = 6
		sZ = 9
	)
	const (
		cmp   = 2 // the differing bytes decide
		byLen = 3 // the longer digit run is the larger number
	)
	next := [12]int{
		sN, sI, sZ, // from sN on other, digit, zero
		sN, sI, sI,
		sN, sF, sF,
		sN, sF, sZ,
	}
	result := [36]int{
		cmp, cmp, cmp, cmp, byLen, cmp, cmp, cmp, cmp,
		cmp, -1, -1, +1, byLen, byLen, +1, byLen, byLen,
		cmp, cmp, cmp, cmp, cmp, cmp, cmp, cmp, cmp,
		cmp, +1, +1, -1, cmp, cmp, -1, cmp, cmp,
	}
	class := func(c byte) int {
		switch {
		case c == '0':
			return 2
		case isDigit(c):
			return 1
		}
		return 0
	}
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	sign := func(d int) int {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
		return 0
	}
	i := 0
	c1, c2 := at(a, 0), at(b, 0)
	state := sN + class(c1)
	for c1 == c2 {
		if c1 == 0 {
			return 0
		}
		state = next[state]
		i++
		c1, c2 = at(a, i), at(b, i)
		state += class(c1)
	}
	switch r := result[state*3+class(c2)]; r {
	case cmp:
		return sign(int(c1) - int(c2))
	case byLen:
		// Equal so far inside numbers: the longer digit run is larger.
		j := i + 1
		for ; isDigit(at(a, j)); j++ {
			if !isDigit(at(b, j)) {
				return 1
			}
		}
		if isDigit(at(b, j)) {
			return -1
		}
		return sign(int(c1) - int(c2))
	default:
		return r
	}
}

// fnmatch matches name against a shell pattern as fnmatch(3) with
// FNM_NOESCAPE does, which stap's arch, runtime, CONFIG_ and kernel
// version conditions use: `*` matches any run of bytes ('/' included),
// `?` one byte, `[...]` a set (with ranges, and `!` or `^` to negate);
// a backslash is an ordinary byte.
func fnmatch(pattern, name string) bool {
	// On a mismatch, the last `*` seen swallows one more byte of the name
	// and matching resumes after it.
	p, n, starP, starN := 0, 0, -1, 0
	for n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; {
			case c == '*':
				starP, starN = p, n
				p++
				continue
			case c == '?':
				p, n = p+1, n+1
				continue
			case c == '[':
				ok, width := matchSet(pattern[p:], name[n])
				if ok || (width == 0 && name[n] == '[') { // an unclosed '[' is literal
					p, n = p+max(width, 1), n+1
					continue
				}
			case c == name[n]:
				p, n = p+1, n+1
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchSet matches c against the set that begins set ("[a-z]..."); width
// is the length of the set's text, 0 when the '[' is not closed.
func matchSet(set string, c byte) (ok bool, width int) {
	i := 1
	negate := i < len(set) && (set[i] == '!' || set[i] == '^')
	if negate {
		i++
	}
	for first := true; i < len(set); first = false {
		if set[i] == ']' && !first {
			return ok != negate, i + 1
		}
		lo := set[i]
		if i+2 < len(set) && set[i+1] == '-' && set[i+2] != ']' {
			if lo <= c && c <= set[i+2] {
				ok = true
			}
			i += 3
			continue
		}
		if c == lo {
			ok = true
		}
		i++
	}
	return false, 0
}
