package pgprep

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArrays checks that Arrays encodes each array as pgx encodes the
// same values in binary, one array after the other in one buffer.
func TestArrays(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 20, 48, 123456789, time.UTC)
	cases := []struct {
		name   string
		oid    uint32 // the array type's
		elem   uint32
		values any
		add    func(a *Arrays)
	}{
		{"text", pgtype.TextArrayOID, pgtype.TextOID, []string{"a", "", "ünï\x00"}, func(a *Arrays) {
			a.Text("a")
			a.Text("")
			a.Text("ünï\x00")
		}},
		{"bytea from text", pgtype.ByteaArrayOID, pgtype.ByteaOID, [][]byte{[]byte("x"), {}}, func(a *Arrays) {
			a.Text("x")
			a.Text("")
		}},
		{"int8", pgtype.Int8ArrayOID, pgtype.Int8OID, []int64{0, -1, 1 << 40}, func(a *Arrays) {
			a.Int8(0)
			a.Int8(-1)
			a.Int8(1 << 40)
		}},
		{"int4", pgtype.Int4ArrayOID, pgtype.Int4OID, []int32{7, -7}, func(a *Arrays) {
			a.Int4(7)
			a.Int4(-7)
		}},
		{"timestamptz", pgtype.TimestamptzArrayOID, pgtype.TimestamptzOID,
			[]time.Time{at, time.Date(1999, 1, 1, 0, 0, 0, 1000, time.UTC), at.In(time.FixedZone("x", 3600))},
			func(a *Arrays) {
				a.Timestamptz(at)
				a.Timestamptz(time.Date(1999, 1, 1, 0, 0, 0, 1000, time.UTC))
				a.Timestamptz(at.In(time.FixedZone("x", 3600)))
			}},
	}
	m := pgtype.NewMap()
	a := NewArrays(0)
	var got []Encoded
	for _, c := range cases {
		a.Begin(c.elem)
		c.add(a)
		got = append(got, a.End())
	}
	for i, c := range cases {
		want, err := m.Encode(c.oid, pgtype.BinaryFormatCode, c.values, nil)
		require.NoError(t, err, c.name)
		assert.Equal(t, want, []byte(got[i]), c.name)
	}
}
