package sema

import (
	"fmt"
	"sort"
	"strings"

	"etap/lang"
	"etap/lang/ast"
)

// System call aliases. stap's syscall tapset names each system call and
// its arguments by hand; the kernel already describes them, in the formats
// of its syscalls:sys_enter_NAME and sys_exit_NAME tracepoints, and they
// differ between kernels. So sema makes syscall.NAME and syscall.NAME.return
// for every system call of the running kernel that no tapset defines, from
// those formats, the first time a script names a syscall point:
//
//	probe syscall.read = kernel.trace("syscalls:sys_enter_read") {
//		name = "read"; fd = __int32($fd); buf_uaddr = $buf; count = $count
//		argstr = sprintf("%d, %p, %u", fd, buf_uaddr, count)
//	}
//
// The tapsets keep the system calls whose arguments read better decoded
// (openat's flags as O_RDONLY|O_CLOEXEC); theirs win over these.

// syscallFile is the file name the made aliases are parsed under.
const syscallFile = "<syscalls>"

// stapSyscallNames renames the system calls whose tracepoint carries the
// kernel's internal name where stap uses the user-visible one.
var stapSyscallNames = map[string]string{
	"newfstat": "fstat", "newlstat": "lstat", "newstat": "stat",
	"newuname": "uname", "sendfile64": "sendfile",
}

// syscallAlias is what a made alias is made from.
type syscallAlias struct {
	event string // the tracepoint's NAME in sys_enter_NAME
	ret   bool
	// nd is set for nd_syscall.NAME, stap's other name for syscall.NAME
	// (probes without debuginfo there, the same tracepoints here).
	nd bool
}

// loadSyscalls declares, once, the made system call aliases.
func (r *resolver) loadSyscalls() {
	if r.syscallsLoaded {
		return
	}
	r.syscallsLoaded = true
	defined := map[string]bool{}
	for _, a := range r.aliases {
		defined[a.text()] = true
	}
	for _, a := range syscallAliases(r.kernel) {
		if !defined[a.text()] {
			r.aliases = append(r.aliases, a)
		}
	}
	var names [][]string
	for _, a := range r.aliases {
		if a.names[0] == "syscall" {
			names = append(names, a.names)
		}
	}
	for _, a := range ndAliases(names) {
		if !defined[a.text()] {
			r.aliases = append(r.aliases, a)
		}
	}
}

// ndAliases makes nd_syscall.NAME over each syscall.NAME in names.
func ndAliases(names [][]string) []*alias {
	out := make([]*alias, len(names))
	for i, n := range names {
		out[i] = &alias{names: append([]string{"nd_syscall"}, n[1:]...), syscall: &syscallAlias{nd: true}}
	}
	return out
}

// syscallAliases lists the aliases the kernel's syscall tracepoints give,
// without making their bodies yet: syscall.* names hundreds.
func syscallAliases(k Kernel) []*alias {
	all, err := k.Tracepoints()
	if err != nil {
		// kernel.trace reports the missing tracefs where it matters.
		return nil
	}
	events := map[string]bool{}
	for _, tp := range all {
		events[tp] = true
	}
	var out []*alias
	for _, tp := range all {
		event, ok := strings.CutPrefix(tp, "syscalls:sys_enter_")
		if !ok || !events["syscalls:sys_exit_"+event] {
			continue
		}
		name := event
		if n, ok := stapSyscallNames[event]; ok {
			name = n
		}
		out = append(out,
			&alias{names: []string{"syscall", name}, syscall: &syscallAlias{event: event}},
			&alias{names: []string{"syscall", name, "return"}, syscall: &syscallAlias{event: event, ret: true}})
	}
	return out
}

// makeSyscallDecls makes the declarations of the made aliases in list
// that have none yet: their texts, parsed together, since syscall.*
// names hundreds and one parse costs less than hundreds.
func (r *resolver) makeSyscallDecls(list []*alias) {
	var todo []*alias
	var src strings.Builder
	for _, a := range list {
		if a.decl == nil {
			todo = append(todo, a)
			src.WriteString(syscallSource(r.kernel, a))
		}
	}
	if todo == nil {
		return
	}
	f, diags := lang.Parse(syscallFile, src.String(), nil)
	if diags.HasErrors() || len(f.Decls) != len(todo) {
		panic(fmt.Sprintf("made syscall aliases do not parse: %v", diags.Items))
	}
	for i, a := range todo {
		a.decl = f.Decls[i].(*ast.AliasDecl)
	}
}

// syscallSource writes the text of a made alias.
func syscallSource(k Kernel, a *alias) string {
	s := a.syscall
	if s.nd {
		return fmt.Sprintf("probe %s = syscall.%s {}\n", a.text(), strings.Join(a.names[1:], "."))
	}
	if s.ret {
		return fmt.Sprintf("probe %s = kernel.trace(\"syscalls:sys_exit_%s\") {\n\tname = %q\n\tretval = $ret\n\tretstr = return_str(1, retval)\n}\n",
			a.text(), s.event, a.names[1])
	}
	// Without a format, the alias still names the call; kernel.trace
	// then reports what is wrong with the tracepoint.
	fields, _ := k.TracepointFields("syscalls", "sys_enter_"+s.event)
	return syscallEntrySource(a.text(), s.event, a.names[1], fields)
}

// SyscallAliasSource gives the text of the system call alias sema makes
// for point (syscall.read, syscall.read.return) on kernel, for listings
// of context variables; false when the kernel has no such system call.
func SyscallAliasSource(kernel Kernel, point string) (string, bool) {
	for _, a := range syscallAliases(kernel) {
		if a.text() == point {
			return syscallSource(kernel, a), true
		}
	}
	return "", false
}

// syscallEntrySource writes the alias of a system call's entry: each
// argument under stap's name, and argstr as strace would print them.
func syscallEntrySource(point, event, name string, fields []TracepointField) string {
	var b strings.Builder
	fmt.Fprintf(&b, "probe %s = kernel.trace(\"syscalls:sys_enter_%s\") {\n\tname = %q\n", point, event, name)
	var formats, args []string
	for _, f := range fields {
		if f.Name == "__syscall_nr" || strings.HasPrefix(f.Name, "common_") {
			continue
		}
		v := stapArgName(f.Name)
		switch {
		case isUserString(f):
			fmt.Fprintf(&b, "\t%s_uaddr = $%s\n\t%s = user_string_quoted(%s_uaddr)\n", v, f.Name, v, v)
			formats, args = append(formats, "%s"), append(args, v)
		case strings.Contains(f.CType, "*") || strings.HasSuffix(f.CType, "user_header_t") || strings.HasSuffix(f.CType, "user_data_t"):
			fmt.Fprintf(&b, "\t%s_uaddr = $%s\n", v, f.Name)
			formats, args = append(formats, "%p"), append(args, v+"_uaddr")
		case int32Types[strings.TrimPrefix(f.CType, "const ")] || isFd(v) && uint32Types[strings.TrimPrefix(f.CType, "const ")]:
			fmt.Fprintf(&b, "\t%s = __int32($%s)\n", v, f.Name)
			formats, args = append(formats, "%d"), append(args, v)
		case uint32Types[strings.TrimPrefix(f.CType, "const ")]:
			fmt.Fprintf(&b, "\t%s = __uint32($%s)\n", v, f.Name)
			formats, args = append(formats, "%u"), append(args, v)
		default:
			fmt.Fprintf(&b, "\t%s = $%s\n", v, f.Name)
			formats, args = append(formats, "%d"), append(args, v)
		}
	}
	if len(args) == 0 {
		b.WriteString("\targstr = \"\"\n}\n")
	} else {
		fmt.Fprintf(&b, "\targstr = sprintf(%q, %s)\n}\n", strings.Join(formats, ", "), strings.Join(args, ", "))
	}
	return b.String()
}

// int32Types and uint32Types are the argument types narrower than the
// 8 bytes the tracepoint stores them in: the upper half of the register
// is not part of the value.
var (
	int32Types  = map[string]bool{"int": true, "pid_t": true, "clockid_t": true, "key_serial_t": true, "mqd_t": true, "timer_t": true, "key_t": true, "__s32": true, "rwf_t": true}
	uint32Types = map[string]bool{"unsigned int": true, "unsigned": true, "u32": true, "__u32": true, "uid_t": true, "gid_t": true, "umode_t": true, "qid_t": true}
)

// notStrings are the `const char *` arguments that point at bytes, not at
// a NUL-terminated name.
var notStrings = map[string]bool{"buf": true, "ubuf": true, "list": true, "u_msg_ptr": true, "optval": true, "shmaddr": true, "_callout_info": true}

// isFd reports whether an argument is a file descriptor: the kernel
// declares some unsigned, stap shows them all signed (-1, AT_FDCWD).
func isFd(v string) bool { return strings.HasSuffix(v, "fd") }

func isUserString(f TracepointField) bool {
	return f.CType == "const char *" && !notStrings[f.Name]
}

// stapArgName gives the variable stap names an argument by: without the
// leading underscores of add_key's _type, and not clashing with the alias
// variable name.
func stapArgName(field string) string {
	v := strings.TrimLeft(field, "_")
	if v == "name" {
		return "name_str"
	}
	return v
}

// ProbeAliases lists, sorted, the probe aliases a script can name: the
// tapsets', the system call aliases of the kernel and their nd_syscall
// twins (for -l).
func ProbeAliases(kernel Kernel, tapsets []*ast.File) []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, f := range tapsets {
		for _, d := range f.Decls {
			if a, ok := d.(*ast.AliasDecl); ok {
				for _, pp := range a.Names {
					add(pointText(pp))
				}
			}
		}
	}
	for _, a := range syscallAliases(kernel) {
		add(a.text())
	}
	var names [][]string
	for _, name := range out {
		if parts := strings.Split(name, "."); parts[0] == "syscall" {
			names = append(names, parts)
		}
	}
	for _, a := range ndAliases(names) {
		add(a.text())
	}
	sort.Strings(out)
	return out
}
