package maps

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conv returns a conversion directive with no flags, width or precision.
func conv(verb byte, offset int) Directive {
	return Directive{Verb: verb, Width: -1, Prec: -1, Offset: offset}
}

func lit(s string, offset int) Directive {
	return Directive{Literal: s, Width: -1, Prec: -1, Offset: offset}
}

func TestParseFormat(t *testing.T) {
	with := func(d Directive, f func(*Directive)) Directive {
		f(&d)
		return d
	}
	tests := []struct {
		name, format string
		want         []Directive
	}{
		{"empty", "", nil},
		{"literal only", "hello\n", []Directive{lit("hello\n", 0)}},
		{"one conversion", "%d", []Directive{conv('d', 0)}},
		{"percent percent joins the literal", "a%%b", []Directive{lit("a%b", 0)}},
		{"percent percent before a conversion", "%%%d", []Directive{lit("%", 0), conv('d', 2)}},
		{"trailing percent is literal, as in stap", "100%", []Directive{lit("100%", 0)}},
		{"literals around a conversion", "x=%5.2s|", []Directive{
			lit("x=", 0),
			with(conv('s', 2), func(d *Directive) { d.Width, d.Prec = 5, 2 }),
			lit("|", 7),
		}},
		{"every flag", "%-+ #0d", []Directive{with(conv('d', 0), func(d *Directive) {
			d.Minus, d.Plus, d.Space, d.Hash, d.Zero = true, true, true, true, true
		})}},
		{"flags repeat in any order", "%0-0x", []Directive{with(conv('x', 0), func(d *Directive) {
			d.Minus, d.Zero = true, true
		})}},
		{"zero flag then width", "%08x", []Directive{with(conv('x', 0), func(d *Directive) {
			d.Zero, d.Width = true, 8
		})}},
		{"stars", "%*.*s", []Directive{with(conv('s', 0), func(d *Directive) {
			d.WidthStar, d.PrecStar = true, true
		})}},
		{"zero precision is no precision", "%.0s", []Directive{conv('s', 0)}},
		{"bare dot is no precision", "%.d", []Directive{conv('d', 0)}},
		{"length modifiers are ignored", "%hhx%hd%lu%lld%Lx%zd%jd%td", []Directive{
			conv('x', 0), conv('d', 4), conv('u', 7), conv('d', 10), conv('x', 14),
			conv('d', 17), conv('d', 20), conv('d', 23),
		}},
		{"every verb", "%d%i%u%x%X%o%c%s%p%b%m%M", []Directive{
			conv('d', 0), conv('i', 2), conv('u', 4), conv('x', 6), conv('X', 8), conv('o', 10),
			conv('c', 12), conv('s', 14), conv('p', 16), conv('b', 18), conv('m', 20), conv('M', 22),
		}},
		{"offsets count bytes", "é%d", []Directive{lit("é", 0), conv('d', 2)}},
		{"largest width", "%65536d", []Directive{with(conv('d', 0), func(d *Directive) { d.Width = MaxFieldWidth })}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFormat(tt.format)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseFormatErrors(t *testing.T) {
	tests := []struct {
		name, format string
		offset       int
		msg          string
	}{
		{"unknown verb", "%y", 1, `invalid conversion 'y'`},
		{"unknown verb after text", "ab %5.3q", 7, `invalid conversion 'q'`},
		{"n is not supported", "%n", 1, `invalid conversion 'n'`},
		{"star then digits", "%*5d", 2, `invalid conversion '5'`},
		{"three ells", "%lllx", 3, `invalid conversion 'l'`},
		{"non-ASCII verb", "x%é", 2, `invalid conversion 'é'`},
		{"width at end", "ab%5", 2, "incomplete conversion"},
		{"flag at end", "%-", 0, "incomplete conversion"},
		{"dot at end", "%.", 0, "incomplete conversion"},
		{"length at end", "%ll", 0, "incomplete conversion"},
		{"width too large", "%65537d", 1, "width too large"},
		{"precision too large", "%.99999999999999999999d", 2, "precision too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs, err := ParseFormat(tt.format)
			require.Error(t, err)
			assert.Nil(t, dirs)
			var fe *FormatError
			require.True(t, errors.As(err, &fe), "error type %T", err)
			assert.Equal(t, tt.offset, fe.Offset)
			assert.Contains(t, fe.Msg, tt.msg)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestArgTypes(t *testing.T) {
	tests := []struct {
		format string
		want   []Type
	}{
		{"text", nil},
		{"%d", []Type{Long}},
		{"%s", []Type{String}},
		{"%m", []Type{Memory}},
		{"%.*M", []Type{Long, Memory}},
		{"%p %c %b %x", []Type{Long, Long, Long, Long}},
		{"%*s", []Type{Long, String}},
		{"%.*s", []Type{Long, String}},
		{"%*.*d", []Type{Long, Long, Long}},
		{"pid=%d exec=%s", []Type{Long, String}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			dirs, err := ParseFormat(tt.format)
			require.NoError(t, err)
			assert.Equal(t, tt.want, FormatArgTypes(dirs))
		})
	}
	t.Run("literal directive", func(t *testing.T) {
		assert.Nil(t, lit("x", 0).ArgTypes())
	})
}
