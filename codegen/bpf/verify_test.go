package bpf_test

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/maps"
)

// everyStringFunction calls each string builtin and sprintf in one kernel
// probe.
const everyStringFunction = `probe kernel.trace("syscalls:sys_enter_getpid") {
	s = sprintf("%5d|%-8x|%s|%#o|%.3s|%c|%b|%*d", $s8, $u16, execname(), 8, "xyzw", 66, 65, 4, 1)
	t = str_replace(s, "|", "--") . text_str(s) . string_quoted(s) . sprint(strlen(s)) . sprintln("x")
	printf("%s %d %d %d %d %d\n", t, strpos(t, "xyz"), isinstr(s, "abc"), strtol("0x7f", 0), stringat(s, 1), isdigit(s))
	printf("%s %s %s\n", user_string_n(0, 4, "u"), kernel_string2(0, "k"), user_string_quoted(0))
}`

// TestStringFunctionsVerify loads every string function into the kernel:
// the loops run with bpf_loop, so that the verifier's work stays small
// and grows little with MAXSTRINGLEN.
func TestStringFunctionsVerify(t *testing.T) {
	processed := regexp.MustCompile(`processed (\d+) insns`)
	for _, n := range []int{128, 512} {
		t.Run(fmt.Sprintf("MAXSTRINGLEN=%d", n), func(t *testing.T) {
			p := maps.DefaultParams()
			p.StringLen = n
			out, diags := bpf.Compile(checkScript(t, everyStringFunction), bpf.Options{Params: p})
			requireNoErrors(t, "compile", diags, everyStringFunction)
			coll, err := ebpf.NewCollectionWithOptions(out.Spec, ebpf.CollectionOptions{
				Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats},
			})
			var ve *ebpf.VerifierError
			if errors.As(err, &ve) {
				require.NoError(t, err, strings.Join(ve.Log[max(0, len(ve.Log)-20):], "\n"))
			}
			require.NoError(t, err)
			defer coll.Close()
			require.Len(t, out.Kernel, 1)
			m := processed.FindStringSubmatch(coll.Programs[out.Kernel[0].Name].VerifierLog)
			require.NotNil(t, m)
			insns, err := strconv.Atoi(m[1])
			require.NoError(t, err)
			t.Logf("verifier processed %d instructions", insns)
			assert.Less(t, insns, 200000, "the verifier's work should stay far from its limit of 1,000,000")
		})
	}
}
