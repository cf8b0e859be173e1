package jobs

import (
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// pgx builds the messages of a statement or a batch in its connection's
// write buffer, which it shrinks back to 1 KiB after every flush of more
// than that, and appends to it a parameter at a time: a batch of jobs
// with a webhook's body (a GitHub push is 7-25 KB) grew it from 1 KiB to
// the batch's size by Go's append growth (a quarter at a time beyond a
// few KiB), about thirty copies and as many discarded buffers for every
// batch, which cost more than the rest of the statement's encoding.
// reserveWrite makes the buffer large enough for the next n bytes first.

// reserveWrite makes room for n more bytes in c's write buffer, so that
// the messages of the statement sent next are built without the buffer
// growing. It sends nothing: the reservation is an empty message.
func reserveWrite(c *pgx.Conn, n int) {
	if n <= 0 || c == nil {
		return
	}
	c.PgConn().Frontend().Send(reservation(n))
}

// reservation is an empty frontend message whose encoding grows the
// buffer it is appended to by its capacity.
type reservation int

// Frontend implements pgproto3.FrontendMessage.
func (reservation) Frontend() {}

// Decode implements pgproto3.Message; a reservation is never received.
func (reservation) Decode([]byte) error { return nil }

// Encode implements pgproto3.Message: it appends no bytes and leaves room
// for r more.
func (r reservation) Encode(dst []byte) ([]byte, error) { return slices.Grow(dst, int(r)), nil }

var _ pgproto3.FrontendMessage = reservation(0)
