package main

import "strings"

// splitWords splits a command line into words as a shell would for a
// simple command: blanks separate words, quotes and backslashes protect.
// It reports false when the line needs a shell (pipes, redirections,
// variables, several commands).
func splitWords(line string) ([]string, bool) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case ch == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			word.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if strings.IndexByte("$`", line[j]) >= 0 {
					return nil, false
				}
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				word.WriteByte(line[j])
			}
			if j == len(line) {
				return nil, false
			}
			i = j
			inWord = true
		case ch == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case strings.IndexByte(";&|<>()$`*?[]{}~#=\n", ch) >= 0:
			return nil, false
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, true
}
