package bpf_test

import (
	"os"
	"testing"
)

func TestExplore(t *testing.T) {
	src, err := os.ReadFile(os.Getenv("STP"))
	if err != nil {
		t.Skip()
	}
	var evs [][]byte
	if os.Getenv("FIRE") != "" {
		evs = append(evs, tracepointRecord(t, map[string]int64{"__syscall_nr": 39, "s8": -1, "u16": 0xffff, "s16": -2, "u32": 0xffffffff, "s64": -5, "u64": -1}))
	}
	out, errs := run(t, string(src), evs...)
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errs)
}
