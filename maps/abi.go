// Package maps is the contract between the BPF programs etap generates and
// the user-space side that reads what they leave: the layout of global
// variables in maps, the packing of array keys, the records printf and
// friends send through the ring buffer, and the ids of the helpers that only
// etap's user-space interpreter provides.
package maps

import (
	"encoding/binary"
	"fmt"
)

// Type is the type of a value stored in a map or sent in a record.
type Type uint8

// The value types of the kernel ↔ user contract.
const (
	Long Type = iota + 1
	String
	// Memory is the bytes printf's %m and %M show: up to StringLen bytes
	// copied from an address, in a string-sized slot. Its Value's Str
	// holds the whole slot; the directive's precision says how much of
	// it is shown.
	Memory
	// Stack is a kernel stack in a record: MaxBacktrace return addresses,
	// innermost first, zero after the last. Only records carry it: user
	// space turns it into text as a Conv says.
	Stack
)

// MaxBacktrace is stap's MAXBACKTRACE: the frames a backtrace keeps.
const MaxBacktrace = 20

// Conv says how user space turns an argument of a print record into the
// string its %s prints. The kernel records addresses; their symbols come
// from /proc/kallsyms when the record is printed, so that no probe pays
// for a lookup.
type Conv uint8

// The conversions of print arguments.
const (
	ConvNone Conv = iota
	// ConvSymname prints a Long address as its symbol: "vfs_read".
	ConvSymname
	// ConvSymdata prints it as symbol, offset, size and module:
	// "vfs_read+0x9/0x1b0 [kernel]".
	ConvSymdata
	// ConvBacktrace prints a Stack as hex addresses separated by spaces,
	// as backtrace() returns it.
	ConvBacktrace
	// ConvPrintBacktrace prints a Stack one frame a line, with symdata,
	// as print_backtrace() does.
	ConvPrintBacktrace
)

func (t Type) String() string {
	switch t {
	case Long:
		return "long"
	case String:
		return "string"
	case Memory:
		return "memory"
	case Stack:
		return "stack"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Map names shared by codegen, loader and vm.
const (
	// ScalarsMap is a one-entry array holding every scalar global at its
	// Offset, and the hidden scalars of Hidden.
	ScalarsMap = "globals"
	// EventsMap is the ring buffer that carries records to user space.
	EventsMap = "events"
	// ScratchMap is a one-entry per-CPU array: string temporaries, keys and
	// records are built there rather than on the 512-byte stack.
	ScratchMap = "scratch"
	// ZerosMap is a one-entry array of zeros, as large as the largest
	// statistic: the value a statistic array's new element starts from.
	ZerosMap = "zeros"
)

// Defaults of the tunables a script can change with -D.
const (
	DefaultStringLen     = 128
	DefaultMaxMapEntries = 2048
	LongSize             = 8
)

// Params are the sizes a compile was made with.
type Params struct {
	// StringLen is the size of every string slot, NUL-terminated and
	// zero-padded after the NUL: MAXSTRINGLEN rounded up to whole words,
	// since slots are copied and compared a word at a time.
	StringLen int
	// MaxStringLen is MAXSTRINGLEN as given: a string holds at most
	// MaxStringLen-1 bytes. 0 means StringLen.
	MaxStringLen int
	// MaxMapEntries is MAXMAPENTRIES, the default capacity of an array.
	MaxMapEntries int
}

// DefaultParams returns the parameters used when no -D overrides them.
func DefaultParams() Params {
	return Params{StringLen: DefaultStringLen, MaxMapEntries: DefaultMaxMapEntries}
}

// Longest returns how many bytes a string holds at most, MAXSTRINGLEN-1.
func (p Params) Longest() int {
	if p.MaxStringLen > 0 && p.MaxStringLen < p.StringLen {
		return p.MaxStringLen - 1
	}
	return p.StringLen - 1
}

// SizeOf returns the size of a slot holding a value of type t.
func (p Params) SizeOf(t Type) int {
	switch t {
	case String, Memory:
		return p.StringLen
	case Stack:
		return MaxBacktrace * LongSize
	}
	return LongSize
}

// TupleSize returns the size of a packed tuple of the given types: the
// columns one after the other, each at its slot size.
func (p Params) TupleSize(types []Type) int {
	n := 0
	for _, t := range types {
		n += p.SizeOf(t)
	}
	return n
}

// TupleOffsets returns the offset of each column in a packed tuple.
func (p Params) TupleOffsets(types []Type) []int {
	offs := make([]int, len(types))
	n := 0
	for i, t := range types {
		offs[i] = n
		n += p.SizeOf(t)
	}
	return offs
}

// Value is one decoded long or string.
type Value struct {
	Type Type
	Long int64
	Str  string
}

// LongValue makes a long Value.
func LongValue(v int64) Value { return Value{Type: Long, Long: v} }

// StringValue makes a string Value.
func StringValue(s string) Value { return Value{Type: String, Str: s} }

// PackTuple encodes values as a packed tuple of the given types. Strings
// longer than Longest bytes are truncated, as the kernel side does.
func (p Params) PackTuple(types []Type, vals []Value) []byte {
	b := make([]byte, p.TupleSize(types))
	offs := p.TupleOffsets(types)
	for i, t := range types {
		o := offs[i]
		switch t {
		case Long:
			binary.LittleEndian.PutUint64(b[o:], uint64(vals[i].Long))
		case String:
			s := vals[i].Str
			if len(s) > p.Longest() {
				s = s[:p.Longest()]
			}
			copy(b[o:], s)
		}
	}
	return b
}

// UnpackTuple decodes a packed tuple of the given types.
func (p Params) UnpackTuple(types []Type, b []byte) []Value {
	vals := make([]Value, len(types))
	offs := p.TupleOffsets(types)
	for i, t := range types {
		vals[i] = p.decode(t, b[offs[i]:])
	}
	return vals
}

func (p Params) decode(t Type, b []byte) Value {
	switch t {
	case String:
		return StringValue(CString(b[:p.StringLen]))
	case Memory:
		return Value{Type: Memory, Str: string(b[:p.StringLen])}
	}
	return LongValue(int64(binary.LittleEndian.Uint64(b)))
}

// CString returns the bytes of b up to its first NUL.
func CString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Global describes where a script's global variable lives.
type Global struct {
	Name string
	// Keys are the index column types of an array; empty for a scalar.
	Keys  []Type
	Value Type
	// Offset is a scalar's byte offset in the ScalarsMap value.
	Offset int
	// MapName is an array's hash map.
	MapName    string
	MaxEntries int
	// Wrap is set for `global a%`: when the array is full, a new element
	// evicts an old one (the map is an LRU hash) instead of failing.
	Wrap bool
	// Display is set for globals written but never read: they are printed
	// when the run ends, as stap does.
	Display bool
	// Init is a scalar's initial value, written before any probe runs.
	Init *Value
	// Stat is set for a statistic (`s <<< v`): MapName is then its
	// per-CPU map, keyed by the packed index tuple, or by a 4-byte 0 for a
	// scalar, and Value is meaningless.
	Stat *Stat
}

// IsArray reports whether g is an associative array.
func (g *Global) IsArray() bool { return len(g.Keys) > 0 }

// Hidden are the offsets of etap's own scalars in the ScalarsMap value,
// after the script's scalars.
type Hidden struct {
	// Target is target(): the pid of -c's command or -x's process.
	Target int
	// RealtimeOffset is CLOCK_REALTIME - CLOCK_BOOTTIME in ns, set at start,
	// so that kernel probes can compute gettimeofday_*() from
	// bpf_ktime_get_boot_ns.
	RealtimeOffset int
	// Lost counts records the ring buffer could not take.
	Lost int
	// Exiting is set by exit() and by the runtime error that ends the run:
	// from then on kernel probe handlers return at once, as stap's do once
	// the session stops running.
	Exiting int
	// Errors counts the runtime errors raised outside try blocks, when
	// MAXERRORS lets the run go on after some.
	Errors int
}

// HiddenSize is the number of bytes the hidden scalars take.
const HiddenSize = 5 * LongSize

// Record kinds: the first u32 of every ring-buffer record.
const (
	// KindPrint is a printf/print/println; the id names a PrintSite.
	KindPrint uint32 = 1
	// KindExit asks for the run to end, as exit() does.
	KindExit uint32 = 2
	// KindError is a runtime error; the id names an ErrorSite. For a site
	// without a Message (error(msg)), the message follows as a string.
	KindError uint32 = 3
	// KindHist prints a histogram; the id names the statistic's Global,
	// and the merged buckets follow as longs.
	KindHist uint32 = 4
	// KindWarning is warn(msg): the message follows as a string and is
	// printed on stderr; the run goes on. The id is unused.
	KindWarning uint32 = 5
)

// HeaderSize is the size of a record header: {kind u32, id u32}.
const HeaderSize = 8

// PrintSite is one printf in the script. Its record is the header followed
// by the arguments packed as a tuple of Args.
type PrintSite struct {
	Format string
	Args   []Type
	// Convs, when set, says for each argument how it becomes the string
	// its directive prints; nil when every argument prints as it is.
	Convs []Conv
}

// Printed returns the types the directives of s's format take: a converted
// argument prints as a string.
func (s *PrintSite) Printed() []Type {
	types := make([]Type, len(s.Args))
	for i, t := range s.Args {
		if s.Convs != nil && s.Convs[i] != ConvNone {
			t = String
		}
		types[i] = t
	}
	return types
}

// ErrorSite is one place a runtime error can be raised.
type ErrorSite struct {
	// Message is the error ("division by 0"); empty when the record
	// carries it, as error(msg)'s does.
	Message string
	// Near says what raised it ("operator '/'"), Where is file:line:col.
	Near, Where string
}

// ForeachSite describes one sorted iteration, run by the user-space helper
// HelperForeachStart.
type ForeachSite struct {
	// Global indexes ABI.Globals.
	Global int
	// SortColumn is 0 for no sort, -1 for the value, 1..n for a key column.
	SortColumn int
	SortDesc   bool
	// SortAggregate, for a statistic array sorted by its "value", is the
	// extractor whose result it sorts by (`foreach (k in s @sum-)`); 0
	// means @count, stap's default.
	SortAggregate StatOp
}

// ABI is everything user space needs to know about a compiled script.
type ABI struct {
	Params
	Globals []Global
	// ScalarsSize is the size of the ScalarsMap value.
	ScalarsSize int
	Hidden      Hidden
	// MaxErrors is MAXERRORS: the run ends at the first runtime error
	// past this many.
	MaxErrors int
	Prints    []PrintSite
	Errors    []ErrorSite
	Foreach   []ForeachSite
	Stats     []StatSite
	// UserSymbols is set when the script makes symbolic strings (see
	// Symbolic): user space then keeps the mappings of the target process
	// so that it can name its addresses after it has exited.
	UserSymbols bool
}

// Helper ids that only etap's user-space interpreter provides. They lie
// outside the kernel's helper range, so the verifier would reject them; sema
// keeps them out of kernel probes.
const (
	// HelperForeachStart(map, site, limit) collects the keys of map as
	// ForeachSite site says, keeps at most limit of them (limit < 0: all)
	// and returns an iterator handle.
	HelperForeachStart = 0x10000 + iota
	// HelperForeachNext(handle, keybuf) copies the next key into keybuf and
	// returns 1, or returns 0 when the iteration is done.
	HelperForeachNext
	// HelperStatExtract(map, key, site, out) merges every CPU's
	// value of the statistic under key, stores what StatSite site reads
	// into *out and returns 0; it returns 1, storing 0, when the site's
	// operator needs values and the statistic has none. For OpBucket,
	// *out holds the bucket number on entry, which the caller has
	// checked.
	HelperStatExtract
	// HelperHistPrint(map, key, global) sends a KindHist record of the
	// statistic's merged histogram and returns 0, or returns 1 when the
	// statistic is empty.
	HelperHistPrint
)
