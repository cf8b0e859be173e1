package jobs

import (
	"bytes"
	"runtime"
	"sync"
	"weak"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// The queue's fetch (sqliteExec, pgExec) reads the real inputs of the
// run jobs it hands River from hookhost_job_inputs (inputs.go) and keeps
// them here (fetchedInputs.put), by the row River gives the worker, which
// takes them back (fetchedInputs.take). Jobs queued before that table
// existed hold their inputs in their args, the request's body twice in
// base64 (argBytes), which River's work unit would decode with
// json.Unmarshal, reading every byte twice: the fetch takes them out of
// the args River gets (fetchedInputs.strip: finding them costs a search
// for three bytes), so River decodes the rest, and the worker decodes the
// base64 once. The stored args are not changed: only River's copy in
// this process.

// fetchedInputs are the inputs the fetch read for the run jobs it handed
// River, or took out of their args (in base64), by River id, each with the
// row it came with: River hands the worker that same row. An entry is
// dropped when the worker takes it, or when its row is garbage (a job
// River fetched but never worked, which a row's cleanup drops:
// runtime.AddCleanup).
type fetchedInputs struct {
	mu sync.Mutex
	m  map[int64]fetchedEntry
}

// fetchedEntry is one job's inputs and the row they were taken from.
type fetchedEntry struct {
	row weak.Pointer[rivertype.JobRow]
	b64 []byte // within the row's original args
	raw []byte // from hookhost_job_inputs, when b64 is nil
}

// fetchedKey names an entry for the cleanup of its row.
type fetchedKey struct {
	id  int64
	row weak.Pointer[rivertype.JobRow]
}

func newFetchedInputs() *fetchedInputs { return &fetchedInputs{m: map[int64]fetchedEntry{}} }

// put keeps inputs (by River id, as fetchInputs reads them) for the
// workers of the jobs of res.
func (f *fetchedInputs) put(res *riverdriver.JobGetAvailableResult, inputs map[int64][]byte) {
	if f == nil || res == nil || len(inputs) == 0 {
		return
	}
	for _, j := range res.Jobs {
		in, ok := inputs[j.ID]
		if !ok {
			continue
		}
		f.keep(j, fetchedEntry{raw: in})
	}
}

// keep keeps e for the worker of the job of row j.
func (f *fetchedInputs) keep(j *rivertype.JobRow, e fetchedEntry) {
	e.row = weak.Make(j)
	f.mu.Lock()
	f.m[j.ID] = e
	f.mu.Unlock()
	runtime.AddCleanup(j, f.drop, fetchedKey{id: j.ID, row: e.row})
}

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
		f.keep(j, fetchedEntry{b64: b64})
		j.EncodedArgs = args
	}
}

// take returns the inputs put kept for row, or those strip took out of
// row's args, decoded; ok is false when there are none (the args River
// decoded hold them, or the worker reads them: storedInputs).
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
	if e.b64 == nil {
		return e.raw, true, nil
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
