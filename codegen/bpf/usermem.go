package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// User memory readers: user_long(addr), user_int(addr), user_ushort(addr)
// and their kin read a number of a given size at a user-space address,
// such as a system call's struct sockaddr or argv array. As in stap, a
// fault reads as 0; the _error variants raise a runtime error instead.

// userNumbers gives each reader's size in bytes and signedness.
var userNumbers = []struct {
	name   string
	size   int
	signed bool
}{
	{"user_char", 1, true}, {"user_short", 2, true}, {"user_ushort", 2, false},
	{"user_int", 4, true}, {"user_long", 8, true},
	{"user_int8", 1, true}, {"user_uint8", 1, false},
	{"user_int16", 2, true}, {"user_uint16", 2, false},
	{"user_int32", 4, true}, {"user_uint32", 4, false},
	{"user_int64", 8, true}, {"user_uint64", 8, false},
}

// userNumberBuiltins makes the readers and their _error variants.
func userNumberBuiltins() []*builtin {
	var out []*builtin
	for _, n := range userNumbers {
		out = append(out, userNumber(n.name, n.size, n.signed, false), userNumber(n.name+"_error", n.size, n.signed, true))
	}
	return out
}

// userNumber is one reader: the value, sign-extended when signed, in R0.
func userNumber(name string, size int, signed, raise bool) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Params: []sema.Type{sema.Long}, Result: sema.Long},
		emit: func(g *gen, call *ast.CallExpr) {
			g.expr(call.Args[0])
			slot := g.pushStack()
			defer g.popStack()
			g.emit(
				storeDW(asm.R10, int16(slot), 0),
				asm.Mov.Reg(asm.R3, asm.R0),
				asm.Mov.Imm(asm.R2, int32(size)),
				asm.Mov.Reg(asm.R1, asm.R10),
				asm.Add.Imm(asm.R1, int32(slot)),
				asm.FnProbeReadUser.Call(),
			)
			if raise {
				read := g.newLabel("user_read")
				g.emit(asm.JEq.Imm(asm.R0, 0, read))
				g.raise(g.errorSite("user space read fault", name+"()", call.Span().Start))
				g.setLabel(read)
			}
			// A fault leaves the zeroed slot: the value is 0.
			g.emit(asm.LoadMem(asm.R0, asm.R10, int16(slot), asm.DWord))
			g.signExtend(size, signed)
		},
	}
}
