package loader

import (
	"regexp"
	"strconv"
	"strings"

	"etap/codegen/bpf"
	"etap/diag"
)

func errorMentions(err error, program string) bool {
	return strings.Contains(err.Error(), "program "+program)
}

// insnLine matches a verifier log line about one instruction: "12: (85) call".
var insnLine = regexp.MustCompile(`^(\d+): \(`)

// failingInstruction finds the last instruction the verifier looked at.
func failingInstruction(log []string) (int, bool) {
	for i := len(log) - 1; i >= 0; i-- {
		if m := insnLine.FindStringSubmatch(log[i]); m != nil {
			n, err := strconv.Atoi(m[1])
			return n, err == nil
		}
	}
	return 0, false
}

// lineAt returns the script position of raw instruction offset at.
func lineAt(lines []bpf.LinePos, at int, fallback diag.Pos) diag.Pos {
	pos := fallback
	for _, l := range lines {
		if l.Offset > at {
			break
		}
		pos = l.Pos
	}
	return pos
}

// lastWords returns the verifier's complaint: its last line that is not
// a statistic.
func lastWords(log []string) string {
	for i := len(log) - 1; i >= 0; i-- {
		line := strings.TrimSpace(log[i])
		if line == "" || strings.HasPrefix(line, "processed ") || strings.HasPrefix(line, "verification time") ||
			strings.HasPrefix(line, "stack depth") {
			continue
		}
		return line
	}
	return "no reason given"
}
