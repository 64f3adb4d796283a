package sema

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// This file reads what sema needs from BTF types: C spellings for messages,
// the layout of integers and pointers, struct members.

// cType spells t as C does, for messages and -p2: "struct file *",
// "size_t", "const char *".
func cType(t btf.Type) string {
	switch t := t.(type) {
	case nil, *btf.Void:
		return "void"
	case *btf.Pointer:
		return strings.TrimSuffix(cType(t.Target), " ") + " *"
	case *btf.Const:
		return "const " + cType(t.Type)
	case *btf.Volatile:
		return "volatile " + cType(t.Type)
	case *btf.Restrict:
		return cType(t.Type)
	case *btf.TypeTag:
		return cType(t.Type)
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", cType(t.Type), t.Nelems)
	case *btf.Struct:
		return "struct " + anonymous(t.Name)
	case *btf.Union:
		return "union " + anonymous(t.Name)
	case *btf.Enum:
		return "enum " + anonymous(t.Name)
	case *btf.Fwd:
		return t.Kind.String() + " " + t.Name
	case *btf.FuncProto:
		return "function"
	}
	if name := t.TypeName(); name != "" {
		return name
	}
	return fmt.Sprintf("%v", t)
}

func anonymous(name string) string {
	if name == "" {
		return "{...}"
	}
	return name
}

// scalar returns the size and signedness of an integer, enum or pointer
// type, which a script reads as a long.
func scalar(t btf.Type) (size int, signed, ok bool) {
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return int(t.Size), t.Encoding == btf.Signed, t.Size <= 8
	case *btf.Enum:
		return int(t.Size), t.Signed, t.Size <= 8
	case *btf.Pointer:
		return 8, false, true
	}
	return 0, false, false
}

// isChar reports whether t is a one-byte integer other than a bool: char,
// unsigned char, u8. Kernel BTF encodes plain char as unsigned.
func isChar(t btf.Type) bool {
	i, ok := btf.UnderlyingType(t).(*btf.Int)
	return ok && i.Size == 1 && i.Encoding != btf.Bool
}

// charPointer reports whether t points to characters: a string's address.
func charPointer(t btf.Type) bool {
	p, ok := btf.UnderlyingType(t).(*btf.Pointer)
	return ok && isChar(p.Target)
}

// charArray returns the length of a character array such as `char
// comm[16]`.
func charArray(t btf.Type) (n int, ok bool) {
	a, ok := btf.UnderlyingType(t).(*btf.Array)
	if !ok || !isChar(a.Type) {
		return 0, false
	}
	return int(a.Nelems), true
}

// members returns the members of a struct or union, or false for any other
// type.
func members(t btf.Type) ([]btf.Member, bool) {
	switch t := t.(type) {
	case *btf.Struct:
		return t.Members, true
	case *btf.Union:
		return t.Members, true
	}
	return nil, false
}

// findMember finds a member of the struct or union t by name, looking into
// anonymous members as C does (file.f_path sits in an anonymous union on
// recent kernels), and returns it with its offset in bytes from the start
// of t.
func findMember(t btf.Type, name string) (btf.Member, int, bool) {
	ms, _ := members(t)
	for _, m := range ms {
		if m.Name == name {
			return m, int(m.Offset.Bytes()), true
		}
		if m.Name == "" {
			if inner, off, ok := findMember(btf.UnderlyingType(m.Type), name); ok {
				return inner, int(m.Offset.Bytes()) + off, true
			}
		}
	}
	return btf.Member{}, 0, false
}

// memberNames lists the members findMember can find, for "did you mean".
func memberNames(t btf.Type) []string {
	var names []string
	ms, _ := members(t)
	for _, m := range ms {
		if m.Name == "" {
			names = append(names, memberNames(btf.UnderlyingType(m.Type))...)
			continue
		}
		names = append(names, m.Name)
	}
	return names
}
