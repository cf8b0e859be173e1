package jobs

import (
	"bytes"
	"runtime"
	"sync"
	"weak"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// A run job's args hold its inputs, the request's body twice, in base64
// (argBytes), and River's work unit decodes them with json.Unmarshal,
// which reads every byte twice (checking the document, then decoding it):
// a fifth of the server's CPU of a durable 202 with a 16 KiB body on
// PostgreSQL (bench/README.md). The queue's fetch (sqliteExec, pgExec)
// takes the inputs out of the args of the run jobs it hands River
// (fetchedInputs.strip: finding them costs a search for three bytes), so
// River decodes the rest, and the worker takes them back from the row
// River gives it (fetchedInputs.take) and decodes the base64 once. The
// stored args are not changed: only River's copy in this process.

// fetchedInputs are the base64 inputs the fetch took out of the args of
// the run jobs it handed River, by River id, each with the row it came
// from: River hands the worker that same row. An entry is dropped when the
// worker takes it, or when its row is garbage (a job River fetched but
// never worked, which a row's cleanup drops: runtime.AddCleanup).
type fetchedInputs struct {
	mu sync.Mutex
	m  map[int64]fetchedEntry
}

// fetchedEntry is one job's inputs and the row they were taken from.
type fetchedEntry struct {
	row weak.Pointer[rivertype.JobRow]
	b64 []byte // within the row's original args
}

// fetchedKey names an entry for the cleanup of its row.
type fetchedKey struct {
	id  int64
	row weak.Pointer[rivertype.JobRow]
}

func newFetchedInputs() *fetchedInputs { return &fetchedInputs{m: map[int64]fetchedEntry{}} }

// strip takes the inputs out of the args of the run jobs of res whose row
// decoded: their args then hold "inputs":"" and f the base64. Args whose
// inputs are not a base64 string without escapes, or whose "inputs" key
// is not their only one, are left as they are.
func (f *fetchedInputs) strip(res *riverdriver.JobGetAvailableResult) {
	if f == nil || res == nil {
		return
	}
	for _, j := range res.Jobs {
		if j.Kind != kindRun || res.DecodeErrors[j.ID] != nil {
			continue
		}
		args, b64, ok := cutInputs(j.EncodedArgs)
		if !ok {
			continue
		}
		w := weak.Make(j)
		f.mu.Lock()
		f.m[j.ID] = fetchedEntry{row: w, b64: b64}
		f.mu.Unlock()
		runtime.AddCleanup(j, f.drop, fetchedKey{id: j.ID, row: w})
		j.EncodedArgs = args
	}
}

// take returns the inputs strip took out of row's args, decoded; ok is
// false when it took none (the args River decoded hold them).
func (f *fetchedInputs) take(row *rivertype.JobRow) (inputs []byte, ok bool, err error) {
	if f == nil {
		return nil, false, nil
	}
	w := weak.Make(row)
	f.mu.Lock()
	e, found := f.m[row.ID]
	if found && e.row == w {
		delete(f.m, row.ID)
	}
	f.mu.Unlock()
	if !found || e.row != w {
		return nil, false, nil
	}
	var b argBytes
	if err := b.decodeBase64(e.b64); err != nil {
		return nil, true, err
	}
	return b, true, nil
}

// drop forgets the entry of a row that is garbage, unless a later fetch
// of the same job replaced it.
func (f *fetchedInputs) drop(k fetchedKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.m[k.id]; ok && e.row == k.row {
		delete(f.m, k.id)
	}
}

// len returns how many entries f holds.
func (f *fetchedInputs) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}

// inputsKey is the key of a run job's inputs in its args (runArgs.Inputs).
const inputsKey = "inputs"

// cutInputs returns args with the value of their only top-level
// inputsKey (in any case) replaced by "", and that value's base64 (a slice of args);
// ok is false when args are not such an object or the value is not a
// string as MarshalText writes it (no escape, no line break, which
// base64's decoder would skip where JSON refuses it).
func cutInputs(args []byte) (cut, b64 []byte, ok bool) {
	// A second key that encoding/json would decode into the inputs (in
	// another case) leaves the args to River's decoding, which keeps the
	// last of them (review rev3).
	at, n, folded, ok := keyValue(args, inputsKey)
	if !ok || n != 1 || folded != 1 || args[at] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(args[at+1:], '"')
	if end < 0 {
		return nil, nil, false
	}
	b64 = args[at+1 : at+1+end]
	if bytes.IndexByte(b64, '\\') >= 0 || bytes.IndexByte(b64, '\n') >= 0 || bytes.IndexByte(b64, '\r') >= 0 {
		return nil, nil, false
	}
	cut = make([]byte, 0, len(args)-len(b64))
	cut = append(append(cut, args[:at+1]...), args[at+1+end:]...)
	return cut, b64, true
}
