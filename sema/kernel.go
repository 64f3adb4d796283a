package sema

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// Kernel is what sema needs to know about the running kernel. Tests use a
// fake; Tracefs reads the real one. Whether the kernel can attach what sema
// resolves (kprobes, say) is the loader's question, not sema's: -p2 works
// on any kernel that describes its functions.
type Kernel interface {
	// Tracepoints lists every tracepoint as "group:event".
	Tracepoints() ([]string, error)
	// TracepointFields returns the record layout of one tracepoint.
	TracepointFields(group, event string) ([]TracepointField, error)
	// BTF returns the types of the kernel (module "") or of one loaded
	// module. It is called only for probes that need types, and loads
	// each once: parsing the kernel's BTF costs tens of milliseconds.
	BTF(module string) (*btf.Spec, error)
	// Functions lists the functions of the kernel's or a module's BTF,
	// sorted, for wildcards and "did you mean".
	Functions(module string) ([]string, error)
	// KfuncID returns the BTF type id of a kfunc, a kernel function BPF
	// programs may call, or 0 when the kernel has none of that name.
	KfuncID(name string) (uint32, error)
}

// TracepointField is one field of a tracepoint's record, from its format file.
type TracepointField struct {
	Name   string
	CType  string
	Offset int
	Size   int
	Signed bool
	// Array is set for fixed arrays (`args[6]`) and __data_loc strings.
	Array bool
}

// Tracefs reads kernel facts from a mounted tracefs, and types from the
// kernel's BTF in /sys/kernel/btf.
type Tracefs struct {
	Root string

	once   sync.Once
	events []string
	err    error
	types  btf.Cache

	namesMu   sync.Mutex
	names     map[string][]string
	kernelIDs map[string]uint32

	// formats caches the parsed formats: a syscall alias reads its
	// tracepoint's format to name its variables, and its point again.
	formatsMu sync.Mutex
	formats   map[string][]TracepointField
}

// DefaultTracefsRoot is where tracefs is mounted on current kernels.
const DefaultTracefsRoot = "/sys/kernel/tracing"

// NewTracefs returns a Kernel reading tracefs at root.
func NewTracefs(root string) *Tracefs { return &Tracefs{Root: root} }

// Tracepoints lists the tracepoints once and caches them.
func (t *Tracefs) Tracepoints() ([]string, error) {
	t.once.Do(func() {
		dir := filepath.Join(t.Root, "events")
		groups, err := os.ReadDir(dir)
		if err != nil {
			t.err = fmt.Errorf("list tracepoints: %w (is tracefs mounted at %s?)", err, t.Root)
			return
		}
		for _, g := range groups {
			if !g.IsDir() {
				continue
			}
			evs, err := os.ReadDir(filepath.Join(dir, g.Name()))
			if err != nil {
				continue
			}
			for _, e := range evs {
				if e.IsDir() {
					t.events = append(t.events, g.Name()+":"+e.Name())
				}
			}
		}
		sort.Strings(t.events)
	})
	return t.events, t.err
}

// TracepointFields parses events/GROUP/EVENT/format, once.
func (t *Tracefs) TracepointFields(group, event string) ([]TracepointField, error) {
	key := group + ":" + event
	t.formatsMu.Lock()
	fields, ok := t.formats[key]
	t.formatsMu.Unlock()
	if ok {
		return fields, nil
	}
	b, err := os.ReadFile(filepath.Join(t.Root, "events", group, event, "format"))
	if err != nil {
		return nil, fmt.Errorf("read tracepoint format: %w", err)
	}
	fields, err = ParseTracepointFormat(string(b))
	if err != nil {
		return nil, err
	}
	t.formatsMu.Lock()
	if t.formats == nil {
		t.formats = map[string][]TracepointField{}
	}
	t.formats[key] = fields
	t.formatsMu.Unlock()
	return fields, nil
}

// BTF loads the kernel's or a module's BTF on first use and keeps it.
func (t *Tracefs) BTF(module string) (*btf.Spec, error) {
	if module == "" {
		return t.types.Kernel()
	}
	return t.types.Module(module)
}

// BTFCache is the cache of kernel and module BTF that BTF fills, for the
// loader to share: loading a tp_btf program looks its target up in the
// kernel's BTF, which then needs no second parse.
func (t *Tracefs) BTFCache() *btf.Cache { return &t.types }

// ParseTracepointFormat parses the text of a tracepoint format file:
//
//	field:int common_pid;	offset:4;	size:4;	signed:1;
func ParseTracepointFormat(text string) ([]TracepointField, error) {
	var fields []TracepointField
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "field:") {
			continue
		}
		var f TracepointField
		for _, part := range strings.Split(line, ";") {
			key, val, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok {
				continue
			}
			switch key {
			case "field":
				f.CType, f.Name, f.Array = splitDecl(val)
			case "offset", "size", "signed":
				n, err := strconv.Atoi(val)
				if err != nil {
					return nil, fmt.Errorf("bad tracepoint format line %q: %w", line, err)
				}
				switch key {
				case "offset":
					f.Offset = n
				case "size":
					f.Size = n
				default:
					f.Signed = n != 0
				}
			}
		}
		if f.Name != "" {
			fields = append(fields, f)
		}
	}
	return fields, nil
}

// splitDecl splits a C declaration such as "const char * filename" or
// "unsigned long args[6]" into its type and name.
func splitDecl(decl string) (ctype, name string, array bool) {
	decl = strings.TrimSpace(decl)
	if strings.HasPrefix(decl, "__data_loc") {
		// "__data_loc char[] name": a string stored after the record.
		array = true
		decl = strings.Replace(decl, "[]", "", 1)
	} else if i := strings.IndexByte(decl, '['); i >= 0 {
		array = true
		decl = decl[:i]
	}
	decl = strings.TrimSpace(decl)
	i := strings.LastIndexAny(decl, " *")
	if i < 0 {
		return "", decl, array
	}
	return strings.TrimSpace(decl[:i+1]), decl[i+1:], array
}
