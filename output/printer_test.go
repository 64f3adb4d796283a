package output

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/maps"
)

// Print sites of testABI.
const (
	sitePid = iota
	siteHello
	siteBadFormat
	siteMismatch
	siteString
)

func testABI() *maps.ABI {
	return &maps.ABI{
		Params: maps.Params{StringLen: 16, MaxMapEntries: 8},
		Prints: []maps.PrintSite{
			// exec= is an execname(): a 16-byte slot.
			sitePid:       {Format: "pid=%d exec=%s\n", Args: []maps.Type{maps.Long, maps.String}, Sizes: []int{8, 16}},
			siteHello:     {Format: "hello\n"},
			siteBadFormat: {Format: "%q"},
			siteMismatch:  {Format: "%d", Args: []maps.Type{maps.String}, Sizes: []int{16}},
			siteString:    {Format: "[%s]", Args: []maps.Type{maps.String}, Sizes: []int{16}},
		},
		Errors: []maps.ErrorSite{
			{Message: "division by 0", Near: "operator '/'", Where: "t.stp:3:14"},
			{Message: "array overflow"},
			{},
		},
	}
}

// Error sites of testABI; errorScript takes its message from the record.
const errorScript = 2

// messageRecord is an error or warning record carrying msg.
func messageRecord(abi *maps.ABI, kind, id uint32, msg string) []byte {
	return append(header(kind, id), abi.PackValue(maps.String, values(msg)[0])...)
}

func header(kind, id uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, kind)
	return binary.LittleEndian.AppendUint32(b, id)
}

func printRecord(abi *maps.ABI, id uint32, args ...any) []byte {
	ps := abi.Prints[id]
	return append(header(maps.KindPrint, id), maps.PackTuple(ps.Args, ps.Sizes, values(args...))...)
}

func TestHandlePrint(t *testing.T) {
	abi := testABI()
	tests := []struct {
		name    string
		records [][]byte
		want    string
	}{
		{"one record", [][]byte{printRecord(abi, sitePid, 42, "bash")}, "pid=42 exec=bash\n"},
		{"no arguments", [][]byte{printRecord(abi, siteHello)}, "hello\n"},
		{"records in order", [][]byte{
			printRecord(abi, sitePid, 1, "a"),
			printRecord(abi, siteHello),
			printRecord(abi, sitePid, 2, "b"),
		}, "pid=1 exec=a\nhello\npid=2 exec=b\n"},
		{"repeated and changing strings", [][]byte{
			printRecord(abi, siteString, "sh"),
			printRecord(abi, siteString, "sh"),
			printRecord(abi, siteString, "bash"),
			printRecord(abi, siteString, ""),
			printRecord(abi, siteString, "sh"),
		}, "[sh][sh][bash][][sh]"},
		{"string truncated to StringLen-1", [][]byte{
			printRecord(abi, siteString, "0123456789abcdefXYZ"),
		}, "[0123456789abcde]"},
		{"string filling its slot without NUL", [][]byte{
			append(header(maps.KindPrint, siteString), "0123456789abcdef"...),
		}, "[0123456789abcdef]"},
		{"padding after the arguments is ignored", [][]byte{
			append(printRecord(abi, siteHello), 0, 0, 0, 0),
		}, "hello\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			p := NewPrinter(abi, &stdout, &stderr)
			for _, r := range tt.records {
				ev, err := p.Handle(r)
				require.NoError(t, err)
				assert.Equal(t, Event{}, ev)
			}
			assert.Empty(t, stdout.String(), "output is buffered until Flush")
			require.NoError(t, p.Flush())
			assert.Equal(t, tt.want, stdout.String())
			assert.Empty(t, stderr.String())
		})
	}
}

func TestHandleExit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	p := NewPrinter(testABI(), &stdout, &stderr)
	ev, err := p.Handle(header(maps.KindExit, 0))
	require.NoError(t, err)
	assert.Equal(t, Event{Exit: true}, ev)
	assert.Empty(t, stdout.String())
	assert.Empty(t, stderr.String())
}

func TestHandleError(t *testing.T) {
	tests := []struct {
		name string
		id   uint32
		want string
	}{
		{"with place", 0, "before\nERROR: division by 0 near operator '/' at t.stp:3:14\n"},
		{"message only", 1, "before\nERROR: array overflow\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			abi := testABI()
			abi.Prints[siteHello].Format = "before\n"
			// One writer for both streams shows the order they were
			// written in: buffered output comes out before the error.
			var both bytes.Buffer
			p := NewPrinter(abi, &both, &both)
			_, err := p.Handle(printRecord(abi, siteHello))
			require.NoError(t, err)
			ev, err := p.Handle(header(maps.KindError, tt.id))
			require.NoError(t, err)
			assert.Equal(t, Event{Error: true}, ev)
			assert.Equal(t, tt.want, both.String())
		})
	}
}

// TestHandleMessages checks error() and warn() records, whose message
// travels in the record: a newline is added unless the message ends with
// one, and only the error counts as one.
func TestHandleMessages(t *testing.T) {
	tests := []struct {
		name   string
		record func(abi *maps.ABI) []byte
		event  Event
		want   string
	}{
		{"error", func(abi *maps.ABI) []byte { return messageRecord(abi, maps.KindError, errorScript, "it broke") }, Event{Error: true}, "ERROR: it broke\n"},
		{"warning", func(abi *maps.ABI) []byte { return messageRecord(abi, maps.KindWarning, 0, "careful") }, Event{}, "WARNING: careful\n"},
		{"own newline", func(abi *maps.ABI) []byte { return messageRecord(abi, maps.KindWarning, 0, "two\n") }, Event{}, "WARNING: two\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			abi := testABI()
			var stdout, stderr bytes.Buffer
			p := NewPrinter(abi, &stdout, &stderr)
			ev, err := p.Handle(tt.record(abi))
			require.NoError(t, err)
			assert.Equal(t, tt.event, ev)
			assert.Equal(t, tt.want, stderr.String())
			assert.Empty(t, stdout.String())
		})
	}
	_, err := NewPrinter(testABI(), io.Discard, io.Discard).Handle(header(maps.KindWarning, 0))
	assert.ErrorContains(t, err, "message record")
}

func TestHandleMalformed(t *testing.T) {
	abi := testABI()
	tests := []struct {
		name   string
		record []byte
		msg    string
	}{
		{"empty", nil, "short record: 0 bytes"},
		{"short header", []byte{1, 0, 0, 0}, "short record: 4 bytes"},
		{"unknown kind", header(99, 0), "unknown kind 99"},
		{"unknown print site", header(maps.KindPrint, 99), "no print site 99"},
		{"huge print site", header(maps.KindPrint, 1<<31), "no print site 2147483648"},
		{"unknown error site", header(maps.KindError, 3), "no error site 3"},
		{"short arguments", append(header(maps.KindPrint, sitePid), 1, 2, 3), "3 bytes of arguments, want 24"},
		{"no arguments", header(maps.KindPrint, sitePid), "0 bytes of arguments, want 24"},
		{"format does not parse", header(maps.KindPrint, siteBadFormat), `invalid conversion 'q'`},
		{"format does not match arguments", printRecord(abi, siteMismatch, "x"), "takes [long], record carries [string]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			p := NewPrinter(abi, &stdout, &stderr)
			ev, err := p.Handle(tt.record)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, Event{}, ev)
			require.NoError(t, p.Flush())
			assert.Empty(t, stdout.String())
			assert.Empty(t, stderr.String())
		})
	}
	t.Run("other sites still print", func(t *testing.T) {
		var stdout bytes.Buffer
		p := NewPrinter(abi, &stdout, io.Discard)
		_, err := p.Handle(header(maps.KindPrint, siteBadFormat))
		require.Error(t, err)
		_, err = p.Handle(printRecord(abi, siteHello))
		require.NoError(t, err)
		require.NoError(t, p.Flush())
		assert.Equal(t, "hello\n", stdout.String())
	})
}

func TestPrinterFlushesWhenFull(t *testing.T) {
	abi := testABI()
	var stdout bytes.Buffer
	p := NewPrinter(abi, &stdout, io.Discard)
	rec := printRecord(abi, siteHello)
	n := flushAt/len("hello\n") + 1
	for range n {
		_, err := p.Handle(rec)
		require.NoError(t, err)
	}
	assert.Equal(t, strings.Repeat("hello\n", n), stdout.String())
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestPrinterWriteErrors(t *testing.T) {
	abi := testABI()
	t.Run("stdout", func(t *testing.T) {
		p := NewPrinter(abi, failWriter{}, io.Discard)
		_, err := p.Handle(printRecord(abi, siteHello))
		require.NoError(t, err)
		err = p.Flush()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "write stdout: broken pipe")
		assert.NoError(t, p.Flush(), "failed output is dropped, not retried")
	})
	t.Run("stdout before an error report", func(t *testing.T) {
		var stderr bytes.Buffer
		p := NewPrinter(abi, failWriter{}, &stderr)
		_, err := p.Handle(printRecord(abi, siteHello))
		require.NoError(t, err)
		ev, err := p.Handle(header(maps.KindError, 0))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "write stdout: broken pipe")
		assert.Equal(t, Event{Error: true}, ev)
	})
	t.Run("stderr", func(t *testing.T) {
		p := NewPrinter(abi, io.Discard, failWriter{})
		ev, err := p.Handle(header(maps.KindError, 0))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "write stderr: broken pipe")
		assert.Equal(t, Event{Error: true}, ev)
	})
}

func BenchmarkHandlePrintf(b *testing.B) {
	abi := &maps.ABI{
		Params: maps.DefaultParams(),
		Prints: []maps.PrintSite{{
			Format: "%d %s %s\n",
			Args:   []maps.Type{maps.Long, maps.String, maps.String},
			Sizes:  []int{8, 16, maps.DefaultStringLen},
		}},
	}
	rec := printRecord(abi, 0, 12345, "systemd-journal", "/var/log/journal/system.journal")
	p := NewPrinter(abi, io.Discard, io.Discard)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for i := 0; b.Loop(); i++ {
		if _, err := p.Handle(rec); err != nil {
			b.Fatal(err)
		}
		// The run loop flushes after each drain of the ring buffer.
		if i%64 == 63 {
			if err := p.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
