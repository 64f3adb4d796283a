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

// Sizes returns the full slot size of each type: a string at StringLen.
// Values and scalars are laid out so; key columns and print arguments may
// be narrower (Global.KeySizes, PrintSite.Sizes).
func (p Params) Sizes(types []Type) []int {
	sizes := make([]int, len(types))
	for i, t := range types {
		sizes[i] = p.SizeOf(t)
	}
	return sizes
}

// TupleSize returns the size of a packed tuple whose columns have the given
// slot sizes, one after the other.
func TupleSize(sizes []int) int {
	n := 0
	for _, s := range sizes {
		n += s
	}
	return n
}

// TupleOffsets returns the offset of each column in a packed tuple whose
// columns have the given slot sizes.
func TupleOffsets(sizes []int) []int {
	offs := make([]int, len(sizes))
	n := 0
	for i, s := range sizes {
		offs[i] = n
		n += s
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

// PackTuple encodes values as a packed tuple of the given types and slot
// sizes. A string longer than its slot's size-1 bytes is truncated, as the
// kernel side does.
func PackTuple(types []Type, sizes []int, vals []Value) []byte {
	b := make([]byte, TupleSize(sizes))
	offs := TupleOffsets(sizes)
	for i, t := range types {
		o := offs[i]
		switch t {
		case Long:
			binary.LittleEndian.PutUint64(b[o:], uint64(vals[i].Long))
		case String:
			s := vals[i].Str
			if len(s) > sizes[i]-1 {
				s = s[:sizes[i]-1]
			}
			copy(b[o:], s)
		}
	}
	return b
}

// UnpackTuple decodes a packed tuple of the given types and slot sizes.
func UnpackTuple(types []Type, sizes []int, b []byte) []Value {
	vals := make([]Value, len(types))
	offs := TupleOffsets(sizes)
	for i, t := range types {
		vals[i] = decode(t, b[offs[i]:offs[i]+sizes[i]])
	}
	return vals
}

// PackValue encodes one value in a full-size slot: a scalar global or an
// array's value.
func (p Params) PackValue(t Type, v Value) []byte {
	return PackTuple([]Type{t}, []int{p.SizeOf(t)}, []Value{v})
}

// UnpackValue decodes a full-size slot of type t at the start of b.
func (p Params) UnpackValue(t Type, b []byte) Value {
	return decode(t, b[:p.SizeOf(t)])
}

// decode decodes one column of type t whose slot is b.
func decode(t Type, b []byte) Value {
	switch t {
	case String:
		return StringValue(CString(b))
	case Memory:
		return Value{Type: Memory, Str: string(b)}
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
	Keys []Type
	// KeySizes are the slot sizes of the key columns, parallel to Keys:
	// 8 for a long; for a string, room for the longest string any index
	// expression of the array can give and its NUL, in whole words, at
	// most StringLen (see KeyStringSize). The kernel hashes and compares whole
	// keys on every map access: an execname() key takes 16 bytes, not 128.
	KeySizes []int
	Value    Type
	// Offset is a scalar's byte offset in the ScalarsMap value.
	Offset int
	// MapName is an array's hash map.
	MapName    string
	MaxEntries int
	// Wrap is set for `global a%`: when the array is full, a new element
	// evicts an old one (the map is an LRU hash) instead of failing.
	Wrap bool
	// PerCPU is set for an array of longs that kernel probes only count
	// into (`c[execname()]++`): MapName is then a per-CPU hash (LRU for
	// Wrap), each CPU adds to its own value without atomics, and user
	// space sees an element's value as the sum over every CPU; writing it
	// stores the total in one CPU's value and zeroes the others'.
	PerCPU bool
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

// KeySize returns the size of g's packed keys.
func (g *Global) KeySize() int { return TupleSize(g.KeySizes) }

// KeyOffsets returns the offset of each key column in g's packed keys.
func (g *Global) KeyOffsets() []int { return TupleOffsets(g.KeySizes) }

// PackKey encodes an element's index columns as g's packed key.
func (g *Global) PackKey(vals []Value) []byte { return PackTuple(g.Keys, g.KeySizes, vals) }

// UnpackKey decodes a packed key of g.
func (g *Global) UnpackKey(b []byte) []Value { return UnpackTuple(g.Keys, g.KeySizes, b) }

// KeyStringSize returns the slot size of a string key column or print
// argument whose strings are at most maxLen bytes long (maxLen < 0:
// unknown): the string and its NUL in whole words, at most stringLen.
// Narrowing never truncates: a slot holds every string that can reach it.
func KeyStringSize(maxLen, stringLen int) int {
	if maxLen < 0 || maxLen+1 > stringLen {
		return stringLen
	}
	return (maxLen + 1 + 7) &^ 7
}

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
// by the arguments packed as a tuple of Args with slot sizes Sizes: a string
// argument takes only the room its longest possible value needs (see
// KeyStringSize), so records stay small.
type PrintSite struct {
	Format string
	Args   []Type
	Sizes  []int
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
