package loader

import (
	"regexp"
	"slices"
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

// lastWords returns the verifier's complaint: its last lines that are not
// statistics, at most verifierLines of them, joined by " / ".
func lastWords(log []string) string {
	var words []string
	for i := len(log) - 1; i >= 0 && len(words) < verifierLines; i-- {
		line := strings.TrimSpace(log[i])
		if line == "" || strings.HasPrefix(line, "processed ") || strings.HasPrefix(line, "verification time") ||
			strings.HasPrefix(line, "stack depth") {
			continue
		}
		// An instruction line ends with the register state, which is
		// long and in the full log.
		if before, _, ok := strings.Cut(line, " ; "); ok && insnLine.MatchString(line) {
			line = strings.TrimSpace(before)
		}
		words = append(words, line)
	}
	if len(words) == 0 {
		return "no reason given"
	}
	slices.Reverse(words)
	return strings.Join(words, " / ")
}

// verifierLines is how many of the verifier's last lines a rejection
// shows: the complaint and the instructions that led to it.
const verifierLines = 3
