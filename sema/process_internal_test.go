package sema

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSDTArg parses the argument operands compilers write in SDT notes.
func TestSDTArg(t *testing.T) {
	regs := map[string]int{"ax": 80, "bx": 40, "di": 112, "bp": 32, "sp": 152, "r8": 72, "r13": 16}
	tests := []struct {
		spec string
		want Field
	}{
		{"-4@%edi", Field{Offset: 112, Size: 4, Signed: true, CType: "int32_t"}},
		{"8@%rax", Field{Offset: 80, Size: 8, CType: "uint64_t"}},
		{"1@%al", Field{Offset: 80, Size: 1, CType: "uint8_t"}},
		{"-2@%bx", Field{Offset: 40, Size: 2, Signed: true, CType: "int16_t"}},
		{"4@%r8d", Field{Offset: 72, Size: 4, CType: "uint32_t"}},
		{"8@%r13", Field{Offset: 16, Size: 8, CType: "uint64_t"}},
		{"1@%dil", Field{Offset: 112, Size: 1, CType: "uint8_t"}},
		{"-8@-72(%rbp)", Field{Offset: 32, Size: 8, Signed: true, CType: "int64_t", Deref: &Read{Offset: -72, Size: 8, Signed: true}}},
		{"4@(%rsp)", Field{Offset: 152, Size: 8, Signed: true, CType: "uint32_t", Deref: &Read{Size: 4}}},
		{"-4@$7", Field{Size: 8, Signed: true, CType: "int32_t", Constant: true, Value: 7}},
		{"8@$-1", Field{Size: 8, Signed: true, CType: "uint64_t", Constant: true, Value: -1}},
		{"8@8(%rax,%rbx,8)", Field{Size: 8, Signed: true, CType: "uint64_t", Unsupported: "SDT arguments written as 8@8(%rax,%rbx,8)"}},
		{"4@foo(%rip)", Field{Size: 8, Signed: true, CType: "uint32_t", Unsupported: "SDT arguments written as 4@foo(%rip)"}},
		{"3@%eax", Field{Size: 8, Signed: true, CType: "3@%eax", Unsupported: "SDT arguments written as 3@%eax"}},
		{"%eax", Field{Size: 8, Signed: true, CType: "%eax", Unsupported: "SDT arguments written as %eax"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			tt.want.Type = Long
			assert.Equal(t, tt.want, sdtArg(tt.spec, regs))
		})
	}
}

// TestReadBinaryMarks reads the SDT notes, symbols and DWARF parameters of
// the C program of the uprobe tests.
func TestReadBinaryMarks(t *testing.T) {
	e := NewELFFiles()
	b, err := e.Binary("../cmd/etap/testdata/uprobe/target")
	require.NoError(t, err)
	assert.False(t, b.Go)
	require.Len(t, b.Marks, 2)
	plain, tick := b.Marks[0], b.Marks[1]
	assert.Equal(t, "etap", plain.Provider)
	assert.Equal(t, "plain", plain.Name)
	assert.Equal(t, "-4@$7", plain.Args)
	assert.Zero(t, plain.Semaphore)
	assert.Equal(t, "tick", tick.Name)
	assert.NotZero(t, tick.Semaphore)
	_, ok := b.FileOffset(tick.Semaphore)
	assert.True(t, ok, "the semaphore is in a loaded segment")

	var add *Symbol
	for i := range b.Functions {
		if b.Functions[i].Name == "add" {
			add = &b.Functions[i]
		}
	}
	require.NotNil(t, add)
	long := Param{Size: 8, Signed: true, CType: "long int"}
	a, bb := long, long
	a.Name, bb.Name = "a", "b"
	assert.Equal(t, &Signature{Params: []Param{a, bb}, Result: &long}, e.Signature(b, "add"))
	assert.Equal(t, &Signature{Params: []Param{{Name: "x", Size: 4, Signed: true, CType: "int"}},
		Result: &Param{Size: 4, Signed: true, CType: "int"}}, e.Signature(b, "neg"))
	assert.Equal(t, &Signature{}, e.Signature(b, "idle"))
	assert.Nil(t, e.Signature(b, "no_such_function"))

	_, err = e.Binary("no-such-program-anywhere")
	assert.ErrorContains(t, err, "no program no-such-program-anywhere in $PATH, nor a library in /lib/x86_64-linux-gnu")

	libc, err := e.Binary("libc.so.6")
	require.NoError(t, err, "a library is found by its name")
	assert.Equal(t, "/usr/lib/x86_64-linux-gnu/libc.so.6", libc.Path)
}

// TestStrippedGoProgram finds the functions of a Go program without a
// symbol table in its .gopclntab.
func TestStrippedGoProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gotarget")
	out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "../cmd/etap/testdata/gotarget").CombinedOutput()
	require.NoError(t, err, string(out))
	f, err := elf.Open(bin)
	require.NoError(t, err)
	_, err = f.Symbols()
	f.Close()
	require.ErrorIs(t, err, elf.ErrNoSymbols, "the program is stripped")

	b, err := NewELFFiles().Binary(bin)
	require.NoError(t, err)
	assert.True(t, b.Go)
	i := slices.IndexFunc(b.Functions, func(s Symbol) bool { return s.Name == "main.mul" })
	require.GreaterOrEqual(t, i, 0)
	_, ok := b.FileOffset(b.Functions[i].Addr)
	assert.True(t, ok)
	assert.NotZero(t, b.Functions[i].Size)
}
